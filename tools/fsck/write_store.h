#pragma once
// WriteStore: the btree::BlockStore repair builds new trees in (tools/fsck). Blocks come
// from a caller-given allocator; written nodes stay in memory until flush() writes them
// all, so a tree that cannot be finished (no space) leaves the device unchanged, and a
// node rewritten by many inserts is written once.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "fs/btree/block_store.h"

namespace chainfs::io {
class Device;
}

namespace chainfs::fsck {

class WriteStore final : public btree::BlockStore {
 public:
  using Alloc = std::function<int(uint64_t hint, uint64_t* blockno)>;
  WriteStore(io::Device& dev, Alloc alloc) : dev_(dev), alloc_(std::move(alloc)) {}

  // Only blocks this store allocated are read or written (the tree is new).
  int read_block(uint64_t blockno, void* buf) override;
  int write_block(uint64_t blockno, const void* buf) override;
  int alloc_block(uint64_t hint, uint64_t* blockno) override;
  void free_block(uint64_t blockno) override;

  // Writes every live node to the device; 0 or -errno.
  int flush();
  // The blocks the tree holds now (allocated and not freed), in increasing order.
  std::vector<uint64_t> blocks() const;

 private:
  io::Device& dev_;
  Alloc alloc_;
  std::map<uint64_t, std::unique_ptr<char[]>> nodes_;  // allocated block -> its bytes
};

}  // namespace chainfs::fsck
