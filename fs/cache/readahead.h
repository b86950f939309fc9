#pragma once
// Readahead: sequential-read detection and the readahead window of one file.
//
// A read is sequential when it starts the file, or lies within one read of the stream (where
// the previous read ended, or a little before or after it: with cache=kernel the kernel's
// readahead requests arrive on several FUSE threads, out of order). The window doubles from 4
// up to the largest window on each sequential read; when less than half a window is left
// ahead of a read, a whole window past what was read ahead is fetched, so the device sees
// window-sized requests whatever the read size. Any other read ends the stream.
//
// A plain value: the owner's lock guards it (InodePages::mu).
#include <algorithm>
#include <cstdint>

namespace chainfs::cache {

class Readahead {
 public:
  // Blocks [from, to) to read ahead; empty when from == to.
  struct Range {
    uint64_t from = 0, to = 0;
  };

  // A read of blocks [b0, b1) (b0 < b1). limit: the end of the mapped run, which readahead
  // never passes; max_window: the largest window in pages (0 = no readahead); max_fetch: the
  // most blocks one fetch may add.
  Range on_read(uint64_t b0, uint64_t b1, uint64_t limit, uint32_t max_window, uint64_t max_fetch) {
    const uint64_t n = b1 - b0;
    const bool tracking = next_ != UINT64_MAX && b0 != 0;  // the file's start starts a stream
    const uint64_t front = tracking ? std::max(next_, end_) : 0;
    const bool seq = max_window && (b0 == 0 || (tracking && b1 + n + window_ >= next_ && b0 <= front + n));
    Range ra;
    if (!seq) {
      window_ = 0;
      end_ = 0;
      next_ = b1;
      return ra;
    }
    if (!tracking) {  // a new stream: what an earlier one read ahead may be gone
      window_ = 0;
      end_ = 0;
    }
    window_ = std::clamp<uint32_t>(window_ * 2, 4, max_window);
    const uint64_t start = tracking ? std::max(b1, end_) : b1;
    if (start - b1 < window_ / 2) {
      ra.from = start;
      ra.to = std::max(ra.from, std::min<uint64_t>(start + std::min<uint64_t>(window_, max_fetch), limit));
      end_ = std::max(end_, ra.to);
    }
    next_ = tracking ? std::max(next_, b1) : b1;
    return ra;
  }

  // The file's cached pages were dropped: the next read starts afresh.
  void reset() {
    next_ = UINT64_MAX;
    end_ = 0;
    window_ = 0;
  }

  uint32_t window() const { return window_; }

 private:
  uint64_t next_ = UINT64_MAX;  // where the next sequential read would start
  uint64_t end_ = 0;            // end of what readahead already fetched
  uint32_t window_ = 0;
};

}  // namespace chainfs::cache
