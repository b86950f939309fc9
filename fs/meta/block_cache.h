#pragma once
// BlockCache: write-back cache of metadata blocks (bitmaps, inode-table blocks, B+tree
// nodes, xattr blocks). It stores bytes only; whoever interprets a block verifies it
// (checksum and structure) and reports corruption. Dirty blocks reach the device in
// flush_dirty() (sync, fsync, the flusher thread, read-only switch, unmount).
//
// Thread-safe. Lock order: mu_ is a leaf lock (taken after inode, allocator and map
// locks, never while calling out); flush_mu_ serialises writers-back and is taken
// before mu_.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "io/device.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fs {

class BlockCache {
 public:
  explicit BlockCache(io::Device& dev, size_t max_clean_blocks = 32768)
      : dev_(dev), max_clean_(max_clean_blocks) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // Copies block blk (4096 bytes) into buf, reading the device on a miss. 0 or -errno.
  int read(uint64_t blk, void* buf);
  // Copies len bytes at off within block blk.
  int read_part(uint64_t blk, size_t off, size_t len, void* buf);
  // Replaces block blk and marks it dirty.
  void write(uint64_t blk, const void* buf);
  // Read-modify-write of one cached block under the cache lock (for inode-table blocks
  // shared by 8 inodes). fn edits the 4096 bytes in place; the block becomes dirty.
  int modify(uint64_t blk, const std::function<void(char*)>& fn);
  // The block was freed: drop it, dirty or not, so stale metadata never overwrites
  // data that reuses the block.
  void forget(uint64_t blk);
  // Writes every dirty block to the device (ascending order). Does not flush the device.
  int flush_dirty();
  size_t dirty_count() const;
  // The device below, for bulk reads that need no caching (bitmaps at mount).
  io::Device& device() { return dev_; }
  size_t size() const;

 private:
  struct Entry {
    mem::AlignedBuffer buf;
    bool dirty = false;
  };
  Entry* load_locked(uint64_t blk, int* err);
  void trim_locked();

  io::Device& dev_;
  size_t max_clean_;
  std::mutex flush_mu_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::unique_ptr<Entry>> map_;
};

}  // namespace chainfs::fs
