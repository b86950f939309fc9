#include "tools/common/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>

namespace chainfs::cli {

Progress::Progress(std::string what, uint64_t total, bool quiet, std::FILE* out)
    : what_(std::move(what)), total_(total), out_(out) {
  enabled_ = !quiet && std::getenv("CHAINFS_NO_PROGRESS") == nullptr && isatty(fileno(out_)) == 1;
}

Progress::~Progress() { finish(); }

std::string Progress::line(const std::string& what, uint64_t done, uint64_t total) {
  if (total == 0) return fmt::format("{}: {}", what, done);
  if (done > total) done = total;
  unsigned pct = static_cast<unsigned>(done * 100 / total);
  return fmt::format("{}: {:3}% ({}/{})", what, pct, done, total);
}

void Progress::update(uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::seconds(1)) return;
  last_ = now;
  drawn_ = true;
  // \r plus "erase to end of line" so a shorter line leaves no tail.
  fmt::print(out_, "\r{}\x1b[K", line(what_, done, total_));
  std::fflush(out_);
}

void Progress::finish() {
  if (!enabled_ || !drawn_) return;
  fmt::print(out_, "\r\x1b[K");
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace chainfs::cli
