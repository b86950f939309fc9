#pragma once
// check_filesystem: the full consistency check of a chainfs v1 image (fsck.chainfs, tests).
// It reads the device once, region by region (superblocks, bitmaps, the inode table in large
// chunks, then every tree, xattr chain and slow symlink block), builds the map of which
// object owns which block and which directory entries point to which inode, and reports
// every rule of FORMAT.md "Consistency rules" that does not hold, one line per problem
// naming the object. With repair set it fixes every problem it found (repair.cc says how,
// e2fsck style: bad inodes cleared, entries to them removed, shared blocks copied, damaged
// trees salvaged and rebuilt, lost inodes reconnected in /lost+found, counts, bitmaps and
// superblocks rewritten), then checks again, up to a few passes, until the check is clean;
// what the last pass still finds is left unfixed.
//
// Never throws on bad disk contents and never trusts a count or pointer read from disk
// for a loop bound or an allocation without checking it first.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chainfs::io {
class Device;
}

namespace chainfs::fsck {

struct CheckOptions {
  // Repair (the device must be writable); otherwise change nothing.
  bool repair = false;
  // Called with each problem line as it is found (may be empty: the lines are in the result).
  std::function<void(std::string_view)> on_problem;
  // Called now and then with the current phase and (done, total) units of it.
  std::function<void(std::string_view phase, uint64_t done, uint64_t total)> progress;
};

struct CheckStats {
  uint64_t block_count = 0, inode_count = 0;
  uint64_t blocks_used = 0;  // computed: metadata regions + every block some object owns
  uint64_t inodes_used = 0;  // in the inode bitmap
  uint64_t dirs = 0, files = 0, symlinks = 0, special = 0;
  uint64_t extents = 0, tree_nodes = 0, xattr_blocks = 0;
  bool used_backup_superblock = false;
  bool was_unclean = false;  // the superblock says mounted (no clean unmount)
};

struct Problem {
  std::string text;    // one line naming the object: "inode 12: ..."
  bool fixed = false;  // repaired (repair mode only)
};

struct CheckResult {
  // 0 when the check ran to the end; a negative errno when it could not (device unreadable,
  // not a chainfs, no valid superblock): then error says why in one line.
  int status = 0;
  std::string error;
  std::vector<Problem> problems;
  // Not problems: what FORMAT.md says an unclean unmount leaves (leaked blocks, stale free
  // counts), reported as notes by a read-only check of a filesystem in the mounted state.
  std::vector<std::string> notes;
  // Repair mode: what was done beyond fixing a reported value ("inode 12: cleared", "inode 7:
  // reconnected as /lost+found/#7", ...), in order.
  std::vector<std::string> repairs;
  CheckStats stats;

  size_t unfixed() const;
  // e2fsck's exit code: 0 clean, 1 every problem fixed, 4 problems left, 8 operational error.
  int exit_code() const;
};

CheckResult check_filesystem(io::Device& dev, const CheckOptions& opts);

}  // namespace chainfs::fsck
