#pragma once
// What every chainfs binary prints and returns the same way: the --version text and the
// exit codes that mount(8), mkfs(8) and fsck(8) read.
#include <string>
#include <string_view>

namespace chainfs::cli {

// mount(8) EXIT STATUS bits (the daemon is run by mount.fuse3, whose status mount returns).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;          // incorrect invocation or permissions
inline constexpr int kExitMountFailure = 32;  // device, filesystem or mountpoint refused

// mkfs(8): 0 success, 1 failure.
inline constexpr int kMkfsFailure = 1;

// e2fsck(8) / fsck(8) bitmask, ORed by fsck -A.
inline constexpr int kFsckOk = 0;
inline constexpr int kFsckCorrected = 1;
inline constexpr int kFsckUncorrected = 4;
inline constexpr int kFsckError = 8;
inline constexpr int kFsckUsage = 16;

// "PROGRAM (chainfs) 0.1.0\non-disk format version 1\n": the first lines of every --version;
// binaries append their own lines (libfuse versions for the daemon).
std::string version_text(std::string_view program);

// One error line on stderr, prefixed with the program name: "PROGRAM: MESSAGE\n".
void error_line(std::string_view program, std::string_view message);

}  // namespace chainfs::cli
