#include "fs/fuse/reply.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "base/result.h"

namespace chainfs::fuse {

int to_reply_errno(int neg_errno, const char* op, uint64_t ino) {
  if (neg_errno == 0) return 0;
  int e = neg_errno < 0 ? -neg_errno : neg_errno;
  if (e == kCorrupt) {
    spdlog::error("{} on inode {}: metadata failed its check (corrupt); run fsck.chainfs", op, ino);
    return EIO;
  }
  if (e == EIO) spdlog::error("{} on inode {}: I/O error", op, ino);
  if (e > 4095) {  // not an errno at all: a bug somewhere below
    spdlog::error("{} on inode {}: invalid error value {}", op, ino, neg_errno);
    return EIO;
  }
  return e;
}

bool Reply::claim() {
  if (done_) {
    spdlog::critical("{} on inode {}: second reply suppressed (bug)", op_, ino_);
    return false;
  }
  done_ = true;
  return true;
}

void Reply::error(int neg_errno) {
  if (claim()) fuse_reply_err(req_, to_reply_errno(neg_errno, op_, ino_));
}

void Reply::none() {
  if (claim()) fuse_reply_none(req_);
}

bool Reply::entry(const fuse_entry_param& e) { return claim() && fuse_reply_entry(req_, &e) == 0; }

bool Reply::create(const fuse_entry_param& e, const fuse_file_info* fi) {
  return claim() && fuse_reply_create(req_, &e, fi) == 0;
}

void Reply::attr(const struct stat& st, double timeout) {
  if (claim()) fuse_reply_attr(req_, &st, timeout);
}

void Reply::readlink(const char* target) {
  if (claim()) fuse_reply_readlink(req_, target);
}

bool Reply::open(const fuse_file_info* fi) { return claim() && fuse_reply_open(req_, fi) == 0; }

void Reply::write(size_t count) {
  if (claim()) fuse_reply_write(req_, count);
}

bool Reply::buf(const char* data, size_t size) { return claim() && fuse_reply_buf(req_, data, size) == 0; }

void Reply::statfs(const struct statvfs& st) {
  if (claim()) fuse_reply_statfs(req_, &st);
}

void Reply::xattr(size_t size) {
  if (claim()) fuse_reply_xattr(req_, size);
}

void Reply::lseek(off_t off) {
  if (claim()) fuse_reply_lseek(req_, off);
}

fuse_req_t Reply::hand_over() { return claim() ? req_ : nullptr; }

}  // namespace chainfs::fuse
