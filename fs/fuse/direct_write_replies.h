#pragma once
// DirectWriteReplies: with cache=kernel, answers O_DIRECT writes only after the kernel has
// dropped its cached pages of the written range. The kernel drops them itself when a direct
// write completes synchronously, but not when it completes asynchronously (aio, io_uring):
// pages that a buffered reader brought in while such a write was in flight would keep the old
// data after the write completed. The invalidation waits for pages that READ requests hold
// locked, and those READs are served by this daemon's workers, so it runs on a thread of its
// own, never on a worker (with one worker, it would wait for itself).
#include <fuse_lowlevel.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

namespace chainfs::fuse {

class DirectWriteReplies {
 public:
  explicit DirectWriteReplies(fuse_session* se);
  ~DirectWriteReplies();  // answers what is queued, then stops the thread
  DirectWriteReplies(const DirectWriteReplies&) = delete;
  DirectWriteReplies& operator=(const DirectWriteReplies&) = delete;

  // Takes over the reply to req: invalidates [off, off + count) of ino, then replies count.
  void push(fuse_req_t req, uint64_t ino, off_t off, size_t count);

 private:
  struct Item {
    fuse_req_t req;
    uint64_t ino;
    off_t off;
    size_t count;
  };
  void run();

  fuse_session* se_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace chainfs::fuse
