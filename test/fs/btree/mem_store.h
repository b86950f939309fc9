#pragma once
// In-memory BlockStore for B-tree tests: counts blocks in use so leaks show, catches
// double frees and writes to unallocated blocks, and can refuse allocations (ENOSPC
// injection). Freed blocks are poisoned so a stale pointer reads as corruption.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fs/btree/block_store.h"

namespace chainfs::btree::test {

class MemStore : public BlockStore {
 public:
  explicit MemStore(uint64_t capacity = 1 << 20) : capacity_(capacity) {}

  int read_block(uint64_t blockno, void* buf) override {
    ++reads;
    // Past the end of the device is what a corrupt pointer looks like.
    if (blockno == 0 || blockno >= capacity_) return -EUCLEAN;
    if (blockno >= data_.size() / kBlockSize) {
      std::memset(buf, 0, kBlockSize);
      return 0;
    }
    std::memcpy(buf, block(blockno), kBlockSize);
    return 0;
  }
  int write_block(uint64_t blockno, const void* buf) override {
    ++writes;
    if (blockno == 0 || blockno >= used_.size() || !used_[blockno]) {
      ++bad_writes;
      return -EIO;
    }
    if (fail_writes_after >= 0 && fail_writes_after-- == 0) return -EIO;
    std::memcpy(block(blockno), buf, kBlockSize);
    return 0;
  }
  int alloc_block(uint64_t hint, uint64_t* blockno) override {
    if (fail_allocs_after >= 0 && fail_allocs_after-- == 0) return -ENOSPC;
    uint64_t b = 0;
    if (!free_.empty()) {
      b = free_.back();
      free_.pop_back();
    } else {
      b = used_.empty() ? 1 : used_.size();
      if (b >= capacity_) return -ENOSPC;
      used_.resize(b + 1, false);
      data_.resize((b + 1) * kBlockSize, 0);
    }
    (void)hint;
    used_[b] = true;
    ++in_use;
    *blockno = b;
    return 0;
  }
  void free_block(uint64_t blockno) override {
    if (blockno == 0 || blockno >= used_.size() || !used_[blockno]) {
      ++bad_frees;
      return;
    }
    used_[blockno] = false;
    std::memset(block(blockno), 0xA5, kBlockSize);
    free_.push_back(blockno);
    --in_use;
  }

  bool allocated(uint64_t blockno) const { return blockno < used_.size() && used_[blockno]; }
  uint8_t* block(uint64_t blockno) { return data_.data() + blockno * kBlockSize; }
  uint64_t size_blocks() const { return used_.size(); }

  int64_t in_use = 0;
  int64_t bad_frees = 0;
  int64_t bad_writes = 0;
  uint64_t reads = 0, writes = 0;
  // >= 0: that many more calls succeed, then one fails (and the counter goes to -1).
  int64_t fail_allocs_after = -1;
  int64_t fail_writes_after = -1;

 private:
  uint64_t capacity_;
  std::vector<bool> used_;
  std::vector<uint8_t> data_;
  std::vector<uint64_t> free_;
};

}  // namespace chainfs::btree::test
