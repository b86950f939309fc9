#pragma once
// StreamDetector: streaming writeback's view of one file. It follows the run of blocks, con-
// tiguous both logically and physically, that the writes are dirtying; once the run is as
// long as the device's largest request it is handed over to be written at once, so streaming
// writes do not wait for fsync or the flusher.
//
// A plain value: the owner's lock guards it (InodePages::mu).
#include <cstdint>
#include <optional>

namespace chainfs::cache {

class StreamDetector {
 public:
  // Logical blocks [first, last] (inclusive) at consecutive physical blocks.
  struct Run {
    uint64_t first = 0, last = 0;
  };

  // Logical block b, at physical block pb, became dirty. A block that extends the run
  // grows it; a block already in the run changes nothing; any other starts a new run.
  // Returns the run, and starts over, once it is max_len blocks long.
  std::optional<Run> on_dirty(uint64_t b, uint64_t pb, uint64_t max_len) {
    if (len_ && b == lblk_ + len_ && pb == phys_ + len_) {
      ++len_;
    } else if (!(len_ && b >= lblk_ && b < lblk_ + len_)) {
      lblk_ = b;
      phys_ = pb;
      len_ = 1;
    }
    if (len_ < max_len) return std::nullopt;
    Run run{lblk_, lblk_ + len_ - 1};
    len_ = 0;
    return run;
  }

  // Logical blocks [first, last] were dropped or moved: a run that holds any of them ends.
  void forget(uint64_t first, uint64_t last) {
    if (len_ && lblk_ <= last && lblk_ + len_ > first) len_ = 0;
  }

  uint64_t length() const { return len_; }

 private:
  uint64_t lblk_ = 0, phys_ = 0, len_ = 0;
};

}  // namespace chainfs::cache
