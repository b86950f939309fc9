#pragma once
// ReadStore: a read-only btree::BlockStore over the device for fsck. Blocks outside the
// data area are refused as corruption (a tree pointer there is wrong whatever it holds).
// Blocks read since the last clear() are kept, so walking a tree with check() and then
// reading its entries with scan() reads each node from the device once.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "fs/btree/block_store.h"
#include "mem/aligned_buffer.h"

namespace chainfs::io {
class Device;
}

namespace chainfs::fsck {

class ReadStore final : public btree::BlockStore {
 public:
  ReadStore(io::Device& dev, uint64_t data_start, uint64_t data_end)
      : dev_(dev), data_start_(data_start), data_end_(data_end), buf_(kBlockSize) {}

  int read_block(uint64_t blockno, void* buf) override;
  int write_block(uint64_t, const void*) override { return -EROFS; }
  int alloc_block(uint64_t, uint64_t*) override { return -EROFS; }
  void free_block(uint64_t) override {}

  // Forgets the cached blocks (call between trees).
  void clear() { cache_.clear(); }
  // Why the last refused read was refused ("" when none was).
  const std::string& last_error() const { return last_error_; }
  uint64_t device_reads() const { return reads_; }

 private:
  io::Device& dev_;
  uint64_t data_start_, data_end_;
  mem::AlignedBuffer buf_;
  std::unordered_map<uint64_t, std::unique_ptr<char[]>> cache_;
  std::string last_error_;
  uint64_t reads_ = 0;
};

}  // namespace chainfs::fsck
