#pragma once
// Progress: a one-line "what: 42% (done/total)" status for long work (mkfs of a big device,
// fsck, benches), in the spirit of e2fsprogs lib/ext2fs/progress.c. It draws only on a
// terminal, at most about once a second, and never when quiet or when CHAINFS_NO_PROGRESS
// is set in the environment, so logs and pipes stay clean.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace chainfs::cli {

class Progress {
 public:
  // Draws on out (stderr by default) only when out is a terminal and !quiet.
  Progress(std::string what, uint64_t total, bool quiet = false, std::FILE* out = stderr);
  ~Progress();  // erases the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Reports that done of total units are finished; redraws when a second has passed.
  void update(uint64_t done);
  // Erases the line (idempotent).
  void finish();

  bool enabled() const { return enabled_; }
  // The text of one status line, without control characters (exposed for tests).
  static std::string line(const std::string& what, uint64_t done, uint64_t total);

 private:
  std::string what_;
  uint64_t total_;
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace chainfs::cli
