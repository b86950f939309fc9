#pragma once
// DirectWriteReplies: with cache=kernel, answers O_DIRECT writes only after the kernel has
// dropped its cached pages of the written range. The kernel drops them itself when a direct
// write completes synchronously, but not when it completes asynchronously (aio, io_uring):
// pages that a buffered reader brought in while such a write was in flight would keep the old
// data after the write completed. The invalidation waits for pages that READ requests hold
// locked, and those READs are served by this daemon's workers, so it runs on a thread of its
// own, never on a worker (with one worker, it would wait for itself).
//
// Stale pages come only from READ replies (the kernel fills its cache from them; it drops
// what it cached of the range before it sends the direct write). So an inode that has never
// been read through a READ request needs no invalidation: its write is answered at once.
// READs are noted in a table of bits indexed by inode number (a collision only costs an
// unneeded invalidation); a READ notes its inode before it reads, under the inode lock that
// orders it against the write, so a READ the write does not see returns the new data. Each
// invalidation also makes the kernel fetch the attributes again (GETATTR) before the next
// write, and with -o writeback_cache ask for security.capability (GETXATTR) as well.
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace chainfs::fuse {

class DirectWriteReplies {
 public:
  explicit DirectWriteReplies(fuse_session* se);
  ~DirectWriteReplies();  // answers what is queued, then stops the thread
  DirectWriteReplies(const DirectWriteReplies&) = delete;
  DirectWriteReplies& operator=(const DirectWriteReplies&) = delete;

  // Takes over the reply to req: invalidates [off, off + count) of ino, then replies count.
  void push(fuse_req_t req, uint64_t ino, off_t off, size_t count) EXCLUDES(mu_);
  // A READ of ino is about to be served. Call before reading.
  void note_read(uint64_t ino) {
    read_bits_[(ino / 64) % kReadWords].fetch_or(uint64_t{1} << (ino % 64), std::memory_order_seq_cst);
  }
  // False when no READ of ino was ever noted: the kernel caches nothing of it that could be stale.
  // Call after the write's data is in place.
  bool may_be_cached(uint64_t ino) const {
    return (read_bits_[(ino / 64) % kReadWords].load(std::memory_order_seq_cst) >> (ino % 64)) & 1;
  }

 private:
  struct Item {
    fuse_req_t req;
    uint64_t ino;
    off_t off;
    size_t count;
  };
  void run() EXCLUDES(mu_);

  static constexpr size_t kReadWords = 4096;  // 256 Ki inode bits, 32 KiB
  std::atomic<uint64_t> read_bits_[kReadWords] = {};
  fuse_session* se_;
  base::Mutex mu_;
  base::CondVar cv_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace chainfs::fuse
