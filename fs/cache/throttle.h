#pragma once
// DirtyThrottle: the limits on dirty pages (all inodes). Past the limit the flusher is woken
// to write everything back; past twice the limit a writer writes its own file back and waits
// before its write returns (as the kernel's balance_dirty_pages), so a writer that dirties
// faster than the flusher cleans cannot fill the cache.
#include <algorithm>
#include <cstdint>

namespace chainfs::cache {

class DirtyThrottle {
 public:
  // limit_bytes: the configured limit, 0 = a quarter of cap_pages, or 256 MiB without a cap.
  DirtyThrottle(uint64_t limit_bytes, uint64_t cap_pages, uint64_t page_size)
      : limit_(limit_bytes ? std::max<uint64_t>(limit_bytes / page_size, 1)
               : cap_pages ? std::max<uint64_t>(cap_pages / 4, 1)
                           : (uint64_t{256} << 20) / page_size) {}

  uint64_t limit_pages() const { return limit_; }
  bool wake_flusher(uint64_t dirty_pages) const { return dirty_pages > limit_; }
  bool throttle_writer(uint64_t dirty_pages) const { return dirty_pages > 2 * limit_; }

 private:
  const uint64_t limit_;
};

}  // namespace chainfs::cache
