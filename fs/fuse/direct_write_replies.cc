#include "fs/fuse/direct_write_replies.h"

#include <utility>

namespace chainfs::fuse {

DirectWriteReplies::DirectWriteReplies(fuse_session* se) : se_(se), thread_([this] { run(); }) {}

DirectWriteReplies::~DirectWriteReplies() {
  {
    base::MutexLock l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void DirectWriteReplies::push(fuse_req_t req, uint64_t ino, off_t off, size_t count) {
  {
    base::MutexLock l(mu_);
    queue_.push_back(Item{req, ino, off, count});
  }
  cv_.notify_one();
}

void DirectWriteReplies::run() {
  base::MutexLock l(mu_);
  for (;;) {
    while (!stop_ && queue_.empty()) cv_.wait(mu_);
    if (queue_.empty()) return;  // stop_ and nothing left
    Item it = queue_.front();
    queue_.pop_front();
    l.unlock();
    // A failed invalidation (the connection went away) leaves nothing to protect.
    fuse_lowlevel_notify_inval_inode(se_, it.ino, it.off, static_cast<off_t>(it.count));
    fuse_reply_write(it.req, it.count);
    l.lock();
  }
}

}  // namespace chainfs::fuse
