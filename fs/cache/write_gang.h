#pragma once
// WriteGang: where a file's sequential writes take their page buffers. Once a sequential run
// is kWriteGangAfter blocks long, pages come from a gang of kWriteGang pages allocated at
// once (the pool hands a gang out in address order), so consecutive blocks sit in consecutive
// memory and a device request needs one segment per run, not one per page. Small files never
// hold a gang.
//
// A plain value that only holds the pages: the page cache allocates and frees them. The
// owner's lock guards it (InodePages::mu).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chainfs::cache {

inline constexpr uint64_t kWriteGang = 64;
inline constexpr uint64_t kWriteGangAfter = 16;

class WriteGang {
 public:
  // Whether a write that needs buffers for the blocks `need` (ascending, not empty) continues
  // the sequential run far enough to take them from a gang: a page or two, contiguous, where
  // the last write ended. gang_pages == 0: gangs are off.
  bool wants(const std::vector<uint64_t>& need, uint64_t gang_pages) const {
    const size_t n = need.size();
    return gang_pages && n <= 2 && need.front() == next_ && len_ >= kWriteGangAfter &&
           need.back() == need.front() + n - 1;
  }

  // Moves the next n pages of the gang (ascending addresses) to out; false, and nothing
  // moved, when it holds fewer.
  bool take(size_t n, std::vector<char*>* out) {
    if (pages_.size() < n) return false;
    for (size_t i = 0; i < n; ++i) {
      out->push_back(pages_.back());
      pages_.pop_back();
    }
    return true;
  }

  // A fresh gang (address order) of which the first `used` pages were taken: the rest becomes
  // the gang unless another writer refilled it meanwhile. Returns the pages not kept.
  std::vector<char*> refill(const std::vector<char*>& gang, size_t used) {
    std::vector<char*> rest;  // highest address first: take() pops the next page up
    for (size_t i = gang.size(); i-- > used;) rest.push_back(gang[i]);
    if (pages_.empty()) rest.swap(pages_);
    return rest;
  }

  // Takes every page out of the gang (to be freed).
  std::vector<char*> release() {
    std::vector<char*> all;
    all.swap(pages_);
    return all;
  }

  // A write of blocks [b0, b1) went into the cache: it continues the run or starts a new one.
  void on_write(uint64_t b0, uint64_t b1) {
    len_ = b0 == next_ ? len_ + (b1 - b0) : b1 - b0;
    next_ = b1;
  }

  size_t pages() const { return pages_.size(); }

 private:
  uint64_t next_ = UINT64_MAX;  // the block after the last write
  uint64_t len_ = 0;            // blocks in the current sequential run
  std::vector<char*> pages_;    // the rest of the gang, highest address first
};

}  // namespace chainfs::cache
