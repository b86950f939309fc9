#pragma once
// BlockCache: write-back cache of metadata blocks (bitmaps, inode-table blocks, B+tree
// nodes, xattr blocks, superblocks). It stores bytes only; whoever interprets a block
// verifies it (checksum and structure) and reports corruption.
//
// With the journal, a block moves through three states: dirty (changed by the running
// transaction), committed (its image is in the journal but not yet at home: kept in
// the checkpoint set, which a read miss consults before the device) and clean.
// take_dirty() hands the running transaction's blocks to the commit; add_committed()
// records them as committed; checkpoint() writes the committed images home.
//
// Thread-safe. Lock order: mu_ is a leaf lock (taken after inode, allocator and map
// locks; it calls out only to modify()'s edit of the block); flush_mu_ serialises
// flush_dirty() calls (checkpoint() and write_home() do not take it) and is taken before
// mu_. A read miss drops mu_ while the device reads: what it read is inserted only where
// nothing newer appeared meanwhile (a cached entry or a committed image wins), and is read
// again when a block may have gone stale under it (forget, eviction, checkpoint_done:
// epoch_).
//
// Cached blocks are pages of the cache's own page pool (huge-page backed arenas), not one
// heap allocation each: a cold scan (a directory listing, the inode table after mount) then
// faults its memory in once per 2 MiB instead of once per block.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/meta/block_writer.h"
#include "fs/meta/journal.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"
#include "mem/page_pool.h"

namespace chainfs::fs {

class BlockCache {
 public:
  explicit BlockCache(io::Device& dev, size_t max_clean_blocks = 32768);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // Copies block blk (4096 bytes) into buf, reading the device on a miss. 0 or -errno.
  int read(uint64_t blk, void* buf) EXCLUDES(mu_);
  // Copies len bytes at off within block blk. On a miss, the uncached blocks that follow blk
  // up to ra_end (exclusive; at most kMaxReadahead in all) are read in the same device
  // request and cached too: readahead inside one metadata area (the inode table).
  int read_part(uint64_t blk, size_t off, size_t len, void* buf, uint64_t ra_end = 0) EXCLUDES(mu_);
  static constexpr uint64_t kMaxReadahead = 32;
  // Replaces block blk and marks it dirty.
  void write(uint64_t blk, const void* buf) EXCLUDES(mu_);
  // Read-modify-write of one cached block under the cache lock (for inode-table blocks
  // shared by 8 inodes). fn edits the 4096 bytes in place; the block becomes dirty.
  int modify(uint64_t blk, const std::function<void(char*)>& fn) EXCLUDES(mu_);
  // The block was freed: drop it, dirty or not, so stale metadata never overwrites
  // data that reuses the block. (A committed image awaiting checkpoint stays: the
  // allocator keeps such a block from reuse until the checkpoint.)
  void forget(uint64_t blk) EXCLUDES(mu_);
  // Home writes go through the engine's asynchronous side from now on (BlockWriter).
  void attach(io::BioDevice& bdev) { writer_.attach(bdev); }
  // Writes every dirty block to its home (ascending order), bypassing the journal. Does
  // not flush the device.
  int flush_dirty() EXCLUDES(flush_mu_, mu_);
  size_t dirty_count() const { return dirty_n_.load(std::memory_order_relaxed); }

  // The running transaction: copies of every dirty block, which become clean.
  std::vector<BlockImage> take_dirty() EXCLUDES(mu_);
  // The commit of take_dirty()'s blocks failed: they are dirty again (unless changed since).
  void redirty(const std::vector<BlockImage>& blocks) EXCLUDES(mu_);
  // The blocks' images are committed in the journal: kept until checkpoint_done().
  void add_committed(const std::vector<BlockImage>& blocks) EXCLUDES(mu_);
  // True when blk has a committed image not yet written home.
  bool awaiting_checkpoint(uint64_t blk) const EXCLUDES(mu_);
  size_t committed_count() const EXCLUDES(mu_);
  // Writes every committed image home (ascending, adjacent blocks in one request). Does
  // not flush; after the caller's flush and journal reset, checkpoint_done().
  int checkpoint() EXCLUDES(mu_);
  void checkpoint_done() EXCLUDES(mu_);
  // Writes images to their home blocks, adjacent ones in one request.
  int write_home(std::vector<BlockImage> blocks);
  // Requests and bytes of checkpoint (home) writes.
  uint64_t home_write_requests() const { return writer_.requests(); }
  uint64_t home_write_bytes() const { return writer_.bytes(); }
  // Reads blocks [first, first + n) into buf without caching them (bulk reads: bitmaps at
  // mount), committed images not yet at home included.
  int read_uncached(uint64_t first, uint64_t n, char* buf) EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);
  // Pages of the cache's pool held now: one per cached block, when no miss is being read.
  size_t pages_in_use() const { return pages_->stats().pages_in_use; }

 private:
  // One cached block: a page of pages_, given back when the entry goes.
  struct Entry {
    Entry(mem::PagePool& from, char* page) : pool(from), data(page) {}
    ~Entry() { pool.free_page(data); }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    mem::PagePool& pool;
    char* data;
    bool dirty = false;
  };
  // A new entry for blk (not cached) holding a copy of src (4096 bytes).
  Entry& insert_copy_locked(uint64_t blk, const void* src) REQUIRES(mu_);
  // Returns blk's entry with mu_ held, reading it (and its readahead up to ra_end) from the
  // device on a miss, with mu_ released meanwhile. Null and *err on a read error.
  Entry* load(uint64_t blk, uint64_t ra_end, int* err) REQUIRES(mu_);
  void trim_locked() REQUIRES(mu_);
  void set_dirty_locked(Entry& e, bool dirty) REQUIRES(mu_);

  io::Device& dev_;
  BlockWriter writer_;
  size_t max_clean_;
  // Declared before map_: the entries give their pages back to it.
  std::unique_ptr<mem::PagePool> pages_;
  base::Mutex flush_mu_;
  mutable base::Mutex mu_ ACQUIRED_AFTER(flush_mu_);
  std::unordered_map<uint64_t, std::unique_ptr<Entry>> map_ GUARDED_BY(mu_);
  // Written under mu_ (set_dirty_locked), read without it by dirty_count().
  std::atomic<size_t> dirty_n_{0};
  std::unordered_map<uint64_t, std::shared_ptr<const mem::AlignedBuffer>> committed_ GUARDED_BY(mu_);
  uint64_t epoch_ GUARDED_BY(mu_) = 0;  // bumped when a device read may have gone stale
};

}  // namespace chainfs::fs
