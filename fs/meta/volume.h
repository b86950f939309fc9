#pragma once
// Volume: the mounted device's shared state below the inode level: the superblock,
// the metadata block cache, the block and inode allocators, and inode-record I/O.
// Every member is thread-safe on its own; see fs_impl.h for the lock order.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/btree/block_store.h"
#include "fs/format/inode.h"
#include "fs/format/superblock.h"
#include "fs/meta/allocator.h"
#include "fs/meta/block_cache.h"
#include "fs/meta/data_path.h"
#include "io/device.h"

namespace chainfs::fs {

class Volume {
  std::unique_ptr<io::Device> dev_;  // first: the cache below refers to it

 public:
  explicit Volume(std::unique_ptr<io::Device> dev) : dev_(std::move(dev)), cache(*dev_) {}

  io::Device& dev() { return *dev_; }
  // File data: the page cache over dev (fs/cache/INTEGRATION.md). start_data_path() runs
  // once, before any file data is touched.
  // The block cache's home writes go through the data path's engine from then on.
  void start_data_path(const MountOptions& opts) {
    data_ = std::make_unique<DataPath>(*dev_, opts);
    cache.attach(data_->bio_device());
  }
  DataPath& data() { return *data_; }
  cache::PageCache& pages() { return data_->pages(); }
  uint64_t data_start() const { return data_start_; }
  uint64_t block_count() const { return block_count_; }
  void set_geometry(uint64_t data_start, uint64_t block_count) {
    data_start_ = data_start;
    block_count_ = block_count;
  }

  // Reads and verifies inode ino's record; logs and returns -EUCLEAN when it is bad.
  int load_inode(uint64_t ino, format::DiskInode* out);
  // Encodes the record into its inode-table block in the cache (dirty).
  int store_inode(uint64_t ino, const format::DiskInode& in);
  uint64_t inode_table_start = 0;
  uint64_t inode_table_end = 0;  // exclusive: the bound of inode-table readahead

  BlockCache cache;
  BlockAllocator balloc;
  InodeAllocator ialloc;

  base::Mutex sb_mu;  // a leaf lock
  format::Superblock sb GUARDED_BY(sb_mu);

 private:
  uint64_t data_start_ = 0, block_count_ = 0;
  std::unique_ptr<DataPath> data_;  // last: gone before the block cache and the device
};

// Logs one line about corrupt metadata (block and inode named) on stderr through spdlog.
void log_corrupt(uint64_t ino, uint64_t block, std::string_view what);

// BlockStore over the metadata cache and the block allocator for one inode's B+tree:
// counts the blocks it allocates and frees in *owner_blocks (the inode's block count).
class TreeStore final : public btree::BlockStore {
 public:
  TreeStore(Volume& v, uint64_t* owner_blocks, uint64_t hint = 0)
      : v_(v), owner_blocks_(owner_blocks), hint_(hint) {}
  int read_block(uint64_t blockno, void* buf) override;
  int write_block(uint64_t blockno, const void* buf) override;
  int alloc_block(uint64_t hint, uint64_t* blockno) override;
  void free_block(uint64_t blockno) override;

 private:
  Volume& v_;
  uint64_t* owner_blocks_;
  uint64_t hint_;
};

}  // namespace chainfs::fs
