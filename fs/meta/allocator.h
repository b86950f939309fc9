#pragma once
// Bitmap allocators for blocks and inodes. The bitmap is kept in memory (loaded and
// verified at mount, written back through the block cache at sync) together with a
// free-extent map (start -> length) so contiguous runs near a goal are found without
// scanning bits.
//
// A freed block is clear in the bitmap at once (the running transaction records it
// free) but is not allocated again until release(): the metadata layer releases it only
// when the transaction that freed it has committed and no live journal transaction
// holds an image of it. Before that, the committed filesystem may still own the block
// (a crash must not find another file's data in it) or a replay may write an old
// metadata image over it.
//
// Thread-safe; mu_ is taken after inode locks and before the block cache's lock.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/format/bitmap.h"
#include "fs/meta/block_cache.h"

namespace chainfs::fs {

class Bitmap {
 public:
  void resize(uint64_t items) { words_.assign((items + 63) / 64, 0); items_ = items; }
  bool test(uint64_t i) const { return words_[i / 64] >> (i % 64) & 1; }
  void set(uint64_t i) { words_[i / 64] |= 1ull << (i % 64); }
  void clear(uint64_t i) { words_[i / 64] &= ~(1ull << (i % 64)); }
  uint64_t items() const { return items_; }
  uint64_t word(uint64_t w) const { return words_[w]; }
  // First clear bit at or after from, or items() when none.
  uint64_t find_zero(uint64_t from) const;
  // Loads / stores the bits of bitmap block `index` (kBitsPerBitmapBlock items).
  void load_block(uint32_t index, const uint8_t* bits);
  void store_block(uint32_t index, uint8_t* bits) const;

 private:
  std::vector<uint64_t> words_;
  uint64_t items_ = 0;
};

struct BlockRange {
  uint64_t start = 0, len = 0;
};

class BlockAllocator {
 public:
  // Reads and verifies the bitmap blocks; -EUCLEAN with *why on a bad block.
  int load(BlockCache& cache, uint64_t bitmap_start, uint64_t bitmap_blocks, uint64_t block_count,
           uint64_t reserved, std::string* why) EXCLUDES(mu_);

  // Allocates up to want (>= 1) contiguous blocks, preferring goal, then the first run at
  // or after goal that holds want, then any run. Data allocations (!metadata) may not
  // use the reserved blocks. 0 with *start/*got, or -ENOSPC.
  int alloc(uint64_t goal, uint32_t want, bool metadata, uint64_t* start, uint32_t* got) EXCLUDES(mu_);
  // Frees blocks (data or metadata): free in the bitmap, allocatable after release().
  void free(uint64_t start, uint64_t len) EXCLUDES(mu_);
  // The ranges freed since the last call (by the running transaction).
  std::vector<BlockRange> take_freed() EXCLUDES(mu_);
  // The transaction that freed them did not commit: they belong to the next one.
  void give_back_freed(const std::vector<BlockRange>& ranges) EXCLUDES(mu_);
  // Freed ranges become allocatable.
  void release(const std::vector<BlockRange>& ranges) EXCLUDES(mu_);

  bool has_dirty() const EXCLUDES(mu_);
  bool has_freed() const EXCLUDES(mu_);
  uint64_t free_blocks() const EXCLUDES(mu_);       // free in the bitmap (what the superblock records)
  uint64_t available_blocks() const EXCLUDES(mu_);  // allocatable for data: free, released, minus reserved
  uint64_t limbo_blocks() const EXCLUDES(mu_);      // freed but not yet released
  uint64_t free_unreserved() const EXCLUDES(mu_);   // free in the bitmap minus reserved (statfs)
  // Encodes the changed bitmap blocks into the cache.
  void write_back(BlockCache& cache) EXCLUDES(mu_);
  // True when the bit is set (for tests and consistency checks).
  bool in_use(uint64_t blk) const EXCLUDES(mu_);

 private:
  void insert_free_locked(uint64_t start, uint64_t len) REQUIRES(mu_);
  void take_locked(uint64_t start, uint64_t len) REQUIRES(mu_);
  void touch_locked(uint64_t start, uint64_t len) REQUIRES(mu_);

  mutable base::Mutex mu_;
  Bitmap bits_ GUARDED_BY(mu_);
  std::map<uint64_t, uint64_t> free_ GUARDED_BY(mu_);  // start -> length, coalesced
  uint64_t free_count_ GUARDED_BY(mu_) = 0;
  uint64_t reserved_ GUARDED_BY(mu_) = 0;
  uint64_t bitmap_start_ GUARDED_BY(mu_) = 0;
  std::set<uint32_t> dirty_ GUARDED_BY(mu_);
  std::vector<BlockRange> freed_ GUARDED_BY(mu_);  // freed by the running transaction
  uint64_t limbo_count_ GUARDED_BY(mu_) = 0;       // freed, not yet released
};

class InodeAllocator {
 public:
  int load(BlockCache& cache, uint64_t bitmap_start, uint64_t bitmap_blocks, uint64_t inode_count,
           std::string* why) EXCLUDES(mu_);
  // 0 with *ino, or -ENOSPC.
  int alloc(uint64_t* ino) EXCLUDES(mu_);
  void free(uint64_t ino) EXCLUDES(mu_);
  bool in_use(uint64_t ino) const EXCLUDES(mu_);
  uint64_t free_inodes() const EXCLUDES(mu_);
  bool has_dirty() const EXCLUDES(mu_);
  uint64_t inode_count() const { return count_; }
  void write_back(BlockCache& cache) EXCLUDES(mu_);

 private:
  mutable base::Mutex mu_;
  Bitmap bits_ GUARDED_BY(mu_);  // bit k = inode k+1
  // Written once by load(), at mount before other threads use the allocator; read without
  // mu_ by inode_count().
  uint64_t count_ = 0;
  uint64_t free_count_ GUARDED_BY(mu_) = 0;
  uint64_t cursor_ GUARDED_BY(mu_) = 0;
  uint64_t bitmap_start_ GUARDED_BY(mu_) = 0;
  std::set<uint32_t> dirty_ GUARDED_BY(mu_);
};

}  // namespace chainfs::fs
