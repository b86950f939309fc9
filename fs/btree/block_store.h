#pragma once
// BlockStore: where a B-tree keeps its nodes. fs/meta implements it over the metadata
// block cache and the block allocator; tests implement it in memory. Blocks are
// kBlockSize bytes; block number 0 is never a valid node address.
#include <cstdint>

#include "base/block_size.h"

namespace chainfs::btree {

class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // Reads/writes one whole block; 0 or -errno.
  virtual int read_block(uint64_t blockno, void* buf) = 0;
  virtual int write_block(uint64_t blockno, const void* buf) = 0;
  // Allocates one block (near hint when possible); 0 or -ENOSPC/-errno.
  virtual int alloc_block(uint64_t hint, uint64_t* blockno) = 0;
  virtual void free_block(uint64_t blockno) = 0;
};

}  // namespace chainfs::btree
