#pragma once
// Reply: the one path from a FUSE callback back to the kernel. Each request is answered
// exactly once (a second reply is a bug, refused and logged); errors from the filesystem
// (negative errno) are translated in one place, error(): -EUCLEAN (corruption) becomes
// EIO for the application and is logged with the inode and the operation.
#include <fuse_lowlevel.h>

#include <cstdint>

#include "fs/fuse/context.h"

namespace chainfs::fuse {

// Negative errno from chainfs -> positive errno for fuse_reply_err. Logs corruption and
// unexpected values.
int to_reply_errno(int neg_errno, const char* op, uint64_t ino);

class Reply {
 public:
  Reply(fuse_req_t req, const char* op, uint64_t ino) : req_(req), op_(op), ino_(ino) {}
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  fuse_req_t req() const { return req_; }
  Context& ctx() const { return *static_cast<Context*>(fuse_req_userdata(req_)); }
  const char* op() const { return op_; }
  uint64_t ino() const { return ino_; }
  bool done() const { return done_; }

  void error(int neg_errno);  // 0 is a success reply for ops that return nothing
  void ok() { error(0); }
  void none();
  // Returns false when the kernel no longer waits for the reply (interrupted request): the
  // caller then undoes the lookup or open reference the reply would have handed over.
  bool entry(const fuse_entry_param& e);
  bool create(const fuse_entry_param& e, const fuse_file_info* fi);
  void attr(const struct stat& st, double timeout);
  void readlink(const char* target);
  bool open(const fuse_file_info* fi);
  void write(size_t count);
  bool buf(const char* data, size_t size);
  void statfs(const struct statvfs& st);
  void xattr(size_t size);
  void lseek(off_t off);
  // The request is answered elsewhere (DirectWriteReplies): returns it, marked answered here.
  fuse_req_t hand_over();

 private:
  bool claim();  // marks the request answered; false (and a log line) if it already was

  fuse_req_t req_;
  const char* op_;
  uint64_t ino_;
  bool done_ = false;
};

}  // namespace chainfs::fuse
