#pragma once
// InodePages: the page cache's state for one file: its pages by logical block, its dirty
// count, the write error waiting for the next fsync, the streaming-writeback and readahead
// trackers, and the bio_chain its own writeback goes through.
//
// Lock order (never taken the other way round):
//   metadata inode lock (held by the caller of every PageCache method)
//     -> wb_mu (owner of `chain`)
//       -> mu (pages and everything else here)
//         -> leaf locks of mem/ and io/ (pool, bio pool, device completion lock)
// mu is never held while submitting or waiting for I/O, nor while allocating pages:
// completions take mu (in the reaper, the completion thread or the waiting thread,
// depending on the completion mode) and the pool's reclaim hook may take it too.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/cache/cache_page.h"
#include "fs/cache/readahead.h"
#include "fs/cache/stream_detector.h"
#include "fs/cache/write_gang.h"
#include "io/bio_chain.h"

namespace chainfs::cache {

struct InodePages {
  explicit InodePages(uint64_t i) : ino(i) {}
  InodePages(const InodePages&) = delete;
  InodePages& operator=(const InodePages&) = delete;

  const uint64_t ino;

  base::Mutex mu;
  std::map<uint64_t, std::unique_ptr<CachePage>> pages GUARDED_BY(mu);  // by logical block
  uint64_t dirty GUARDED_BY(mu) = 0;                                    // dirty pages
  bool listed GUARDED_BY(mu) = false;  // in the cache's dirty list (PageCache::note_dirty_locked)
  int wb_error GUARDED_BY(mu) = 0;     // reported by the next fsync
  // Pages in writeback. Changed under mu; read without it by waiters (the device evaluates
  // wait predicates under its own lock, where only atomics may be read).
  std::atomic<uint32_t> writeback{0};

  StreamDetector stream GUARDED_BY(mu);  // the contiguous run streaming writeback follows
  Readahead readahead GUARDED_BY(mu);
  WriteGang wgang GUARDED_BY(mu);  // the sequential-write tracker and its page gang

  base::Mutex wb_mu ACQUIRED_BEFORE(mu);
  std::unique_ptr<io::BioChain> chain GUARDED_BY(wb_mu);  // created on first writeback
};

}  // namespace chainfs::cache
