#pragma once
// Helpers shared by the ops_*.cc files (not part of the layer's interface).
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <exception>
#include <new>
#include <string_view>

#include "fs/fuse/context.h"
#include "fs/fuse/reply.h"

namespace chainfs::fuse::detail {

// Runs body(reply) and makes sure no exception leaves the callback: std::bad_alloc
// becomes ENOMEM, anything else EIO (logged), and only if body had not replied yet.
template <class Body>
void guarded(fuse_req_t req, const char* op, uint64_t ino, Body&& body) noexcept {
  Reply r(req, op, ino);
  try {
    body(r);
  } catch (const std::bad_alloc&) {
    if (!r.done()) r.error(-ENOMEM);
  } catch (const std::exception& e) {
    try {
      spdlog::error("{} on inode {}: unexpected exception: {}", op, ino, e.what());
    } catch (...) {
    }
    if (!r.done()) r.error(-EIO);
  } catch (...) {
    if (!r.done()) r.error(-EIO);
  }
  if (!r.done()) {  // a body path that forgot to answer: the kernel would wait forever
    try {
      spdlog::critical("{} on inode {}: no reply (bug)", op, ino);
    } catch (...) {
    }
    r.error(-EIO);
  }
}

inline fs::Filesystem& filesystem(const Reply& r) { return *r.ctx().fs; }

inline fs::Caller caller(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  return fs::Caller{c->uid, c->gid, c->umask};
}

// Before the request's caller changes a regular file's data (write, fallocate): removes
// set-user-ID and set-group-ID as caller_privs.h says, and makes the kernel drop its cached
// mode (which exec and permission checks use). Errors are ignored: the data change goes on.
void drop_privs_for_data_change(Reply& r, fuse_req_t req, fuse_ino_t ino);

// chainfs's Attr as the kernel's struct stat (Attr::to_stat, by value).
struct stat to_stat(const fs::Attr& a);

fuse_entry_param to_entry(const fs::Attr& a, double timeout);

// Replies with a new entry; when the kernel has gone away, drops the lookup reference
// the filesystem took for it.
void reply_entry(Reply& r, const fs::Attr& a);

}  // namespace chainfs::fuse::detail
