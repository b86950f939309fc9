#pragma once
// PageCache: file data between the metadata layer and the device. Per-inode pages of 4 KiB (= the block size) from the mem::PagePool, keyed by
// logical block, each knowing the physical block the metadata layer mapped it to.
//
//  * Writes copy the caller's bytes once into pool pages (the FUSE payload is not aligned
//    for O_DIRECT). write_strategy=sync writes them through at once with one synchronous
//    device write; page and chain mark them dirty.
//  * Writeback sends dirty pages in device-offset order through an io::BioChain (chain: the
//    largest requests the device takes; page: one request per page). Triggers: fsync and
//    sync (the caller), the dirty threshold and the timer (the flusher thread), a contiguous
//    dirty run as large as the device's largest request (streaming writes do not wait for
//    fsync), and the pool's reclaim hook.
//  * Completions (in the reaper, the completion thread or the waiting thread, as the device's
//    completion mode says) clear writeback, keep re-dirtied pages dirty, remember errors,
//    and release pages when the cache is over its cap.
//  * A write error is remembered per inode and returned once, by the next fsync; the pages
//    that failed are marked clean (their data is not retried), as ext4 does.
//  * Reads copy from cached pages; missing pages are read with one request per contiguous
//    physical run (read_strategy=gang, with readahead on sequential access) or one per page.
//  * The cache size is the pool's byte cap; the reclaim hook evicts clean pages (CLOCK) and
//    writes dirty ones back.
//
// Threads: every method may be called from many threads for different inodes. For one
// inode the caller (the metadata layer) serialises writes, invalidate, remap and forget
// against everything else on that inode (its exclusive inode lock); reads may run in
// parallel with each other (shared lock). The flusher, the completions and reclaim run
// concurrently with all of that. Lock order: inode_pages.h. No method may be called from a
// completion callback.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "base/block_size.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/cache/cache_options.h"
#include "fs/cache/cache_stats.h"
#include "fs/cache/flusher.h"
#include "fs/cache/inode_pages.h"
#include "fs/cache/readahead.h"
#include "fs/cache/stream_detector.h"
#include "fs/cache/throttle.h"
#include "fs/cache/write_gang.h"
#include "io/bio_chain.h"
#include "io/bio_device.h"
#include "io/bio_pool.h"
#include "io/device.h"
#include "mem/page_pool.h"

namespace chainfs::cache {

class PageCache {
 public:
  // bdev is the device's asynchronous face (io/engine.h; tests pass a SyncBioDevice over a
  // MemDevice): every read and write of the cache is a request on it. Registers the pool's
  // reclaim hook and starts the flusher. Both must outlive the cache.
  PageCache(io::BioDevice& bdev, mem::PagePool& pool, CacheOptions opts = {});
  // Stops the flusher, writes every dirty page back and waits, frees every page.
  // REQUIRES: no other call in progress, and no other user of the pool's reclaim hook.
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // Writes the part of the file range [off, off+len) (buf holds those len bytes) that lies in
  // logical blocks [lblk, lblk+nblocks), mapped by the caller to physical blocks
  // [phys, phys+nblocks). fresh: the blocks are newly allocated or unwritten, so what the
  // write does not cover is zeros and nothing is read from the device; otherwise a block
  // written in part and not cached is read first. 0 or -errno (a failed read of a partial
  // block; with write_strategy=sync, a failed device write, after which the blocks are
  // dropped from the cache).
  int write(uint64_t ino, uint64_t lblk, uint64_t phys, uint64_t nblocks, uint64_t off, const char* buf,
            size_t len, bool fresh);

  // Reads the part of [off, off+len) (into buf, which stands for that range) that lies in the
  // mapped run [lblk, lblk+nblocks) at [phys, ...). The run may extend past the range asked
  // for: pass the whole mapped extent clipped to the file's size; readahead stays inside it.
  // Holes and unwritten extents are the caller's (zeros); they never have cached pages
  // because invalidate() runs before blocks are freed. 0 or -errno.
  int read(uint64_t ino, uint64_t lblk, uint64_t phys, uint64_t nblocks, uint64_t off, char* buf, size_t len);

  // Starts writeback of every dirty page of ino. With wait: also waits for all of ino's
  // writeback (including pages sent earlier by other triggers), writes pages that were
  // re-dirtied meanwhile, and returns and clears the write error remembered for ino.
  // Does not flush the device (fsync: this, then the metadata, then Device::flush()).
  int writeback(uint64_t ino, bool wait, Trigger why = Trigger::kFsync);
  int fsync(uint64_t ino) { return writeback(ino, true, Trigger::kFsync); }
  // Every inode's dirty pages through one chain, in device-offset order across files. With
  // wait, returns the first error of this call (inode errors stay for their fsync).
  int writeback_all(bool wait, Trigger why = Trigger::kSyncAll);

  // Drops the pages of logical blocks [first, last] (inclusive; dirty ones are discarded),
  // after waiting for their writeback. Call before the blocks are freed (truncate, punch,
  // zero range), so no late writeback can land on a block that has a new owner.
  void invalidate(uint64_t ino, uint64_t first, uint64_t last);
  // The inode is gone (its blocks are freed): drops all its pages and its state.
  void forget(uint64_t ino);
  // The metadata layer moved logical block lblk to new_phys: the cached page (if any)
  // becomes dirty at its new place, after any writeback to the old place completed.
  void remap(uint64_t ino, uint64_t lblk, uint64_t new_phys);

  const CacheOptions& options() const { return opts_; }
  const CacheStats& stats() const { return stats_; }
  // {"cache": ..., "device": IoStats, "pool": PoolStats, "options": ...}
  nlohmann::json stats_json();
  uint64_t dirty_bytes() const { return CacheStats::get(stats_.dirty_pages) * kBlockSize; }
  // Largest request of the device, in pages (the streaming writeback run).
  uint64_t max_request_pages() const { return max_req_pages_; }

  // For tests.
  struct PageState {
    bool present = false, dirty = false, writeback = false;
    uint64_t phys = 0;
  };
  PageState page_state(uint64_t ino, uint64_t lblk);

 private:
  struct WbItem {
    uint64_t phys;
    CachePage* page;
    char* buf;
  };
  std::shared_ptr<InodePages> get(uint64_t ino, bool create);
  std::vector<std::shared_ptr<InodePages>> all_inodes();
  // Inodes that had dirty pages since they were last found clean and idle: what
  // writeback_all() walks, so its cost follows the dirty files, not the cached ones.
  std::vector<std::shared_ptr<InodePages>> dirty_inodes();
  // ip has a dirty page: puts it on the dirty list.
  void note_dirty_locked(InodePages& ip) REQUIRES(ip.mu);
  // Takes inodes that are clean and idle off the dirty list.
  void prune_dirty(const std::vector<std::shared_ptr<InodePages>>& inodes);

  // One write() call: the mapped run (logical block lblk at physical block phys) and the
  // bytes [off, off+len) in buf.
  struct WriteReq {
    uint64_t lblk, phys, off;
    const char* buf;
    size_t len;
    bool fresh;
  };
  // The blocks of a chunk that need a new buffer (ascending), whether each must be read from
  // the device first, and (once allocated) the buffers.
  struct WriteBuffers {
    std::vector<uint64_t> blocks;
    std::vector<bool> read_first;
    std::vector<char*> bufs;
  };
  // Copies blocks [b0, b1) of the write into the cache; full streaming runs go to stream,
  // pages to be written through (write_strategy=sync) to through.
  int write_chunk(InodePages& ip, const WriteReq& w, uint64_t b0, uint64_t b1,
                  std::vector<StreamDetector::Run>* stream, std::vector<CachePage*>* through);
  // write_chunk's steps: which blocks need buffers (takes ip.mu); the buffers, with the
  // partial blocks read (unlocked); the copy (takes ip.mu), false when the chunk must be
  // redone because the cache changed in between.
  WriteBuffers plan_buffers(InodePages& ip, const WriteReq& w, uint64_t b0, uint64_t b1);
  int fill_buffers(InodePages& ip, const WriteReq& w, WriteBuffers* wb);
  bool copy_in(InodePages& ip, const WriteReq& w, uint64_t b0, uint64_t b1, const WriteBuffers& wb,
               std::vector<StreamDetector::Run>* stream, std::vector<CachePage*>* through);
  // The page block b of a write goes into, set up with spare (a buffer of pass 1, or null)
  // where one is needed; null when the chunk must be redone. A spare not used goes to unused.
  CachePage* page_for_write_locked(InodePages& ip, const WriteReq& w, uint64_t b, char* spare, bool spare_read,
                                   std::vector<char*>* unused) REQUIRES(ip.mu);
  void mark_dirty_locked(InodePages& ip, CachePage& p) REQUIRES(ip.mu);
  int write_through(InodePages& ip, uint64_t phys0, std::vector<CachePage*>& pages);
  void on_write_through_end(InodePages& ip, io::Bio& bio, int status);
  // One read() call: the mapped run and the bytes [off, off+len) that go to buf.
  struct ReadReq {
    uint64_t lblk, phys, off;
    char* buf;
    size_t len;
  };
  // read's steps for blocks [c0, c1): copies the cached ones out and returns the missing ones,
  // then the blocks of ra not cached (takes ip.mu); inserts the blocks read into bufs and
  // copies out those in [c0, c1) (takes ip.mu; a page that appeared meanwhile wins).
  std::vector<uint64_t> copy_cached(InodePages& ip, const ReadReq& r, uint64_t c0, uint64_t c1, Readahead::Range ra);
  void insert_read(InodePages& ip, const ReadReq& r, uint64_t c0, uint64_t c1, const std::vector<uint64_t>& blocks,
                   const std::vector<char*>& bufs);
  int read_blocks(std::vector<std::pair<uint64_t, char*>>& blocks);
  void alloc_pages(size_t n, std::vector<char*>* out);
  // Buffers for the blocks `need` of a write: from the file's write gang when the write
  // continues a sequential run, else alloc_pages.
  void alloc_write_pages(InodePages& ip, const std::vector<uint64_t>& need, std::vector<char*>* out);
  // Gives the write gangs' unused pages back to the pool (forget, reclaim, shutdown).
  void release_write_gang(InodePages& ip);
  void free_pages(std::vector<char*>& bufs);

  void collect_locked(InodePages& ip, uint64_t first, uint64_t last, bool reclaim, std::vector<WbItem>* out)
      REQUIRES(ip.mu);
  void drop_page_locked(InodePages& ip, std::map<uint64_t, std::unique_ptr<CachePage>>::iterator it,
                        std::vector<char*>* to_free) REQUIRES(ip.mu);
  void submit_items(io::BioChain& chain, std::vector<WbItem>& items, Trigger why);
  // Streaming trigger: writes back the dirty pages of [first, last] without waiting.
  void writeback_range(InodePages& ip, uint64_t first, uint64_t last, Trigger why);
  void on_write_end(io::Bio& bio, int status);
  // on_write_end's step for one page of owner's: the part of it that bp carried is written.
  void page_written_locked(InodePages& owner, const io::BioPage& bp, int status, std::vector<char*>* to_free)
      REQUIRES(owner.mu);
  void wait_idle(InodePages& ip);
  void after_dirty();

  size_t evict(size_t want);
  void reclaim(size_t want);
  bool over_cap() const;

  io::BioDevice& bdev_;
  mem::PagePool& pool_;
  const CacheOptions opts_;
  CacheStats stats_;
  io::BioPool bio_pool_;
  uint64_t max_req_pages_ = 1;
  uint64_t cap_pages_ = 0;     // 0 = no cap
  const DirtyThrottle throttle_;
  uint64_t chunk_ = 1024;      // most pages one call holds before inserting them
  uint64_t write_gang_ = 0;    // pages per write gang; 0 = none (a cap too small to spare them)

  base::Mutex table_mu_;  // leaf: only held to find, add or remove an inode
  std::unordered_map<uint64_t, std::shared_ptr<InodePages>> table_ GUARDED_BY(table_mu_);
  std::unordered_map<uint64_t, std::shared_ptr<InodePages>> dirty_ GUARDED_BY(table_mu_);

  base::Mutex all_wb_mu_;  // before any inode's mu
  std::unique_ptr<io::BioChain> all_chain_ GUARDED_BY(all_wb_mu_);
  base::Mutex reclaim_mu_;  // serialises eviction sweeps

  std::unique_ptr<Flusher> flusher_;  // last: stopped first
};

}  // namespace chainfs::cache
