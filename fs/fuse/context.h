#pragma once
// Context: what every FUSE callback needs, passed to fuse_session_new() as userdata.
#include <atomic>
#include <memory>

#include "fs/fuse/direct_write_replies.h"
#include "fs/fuse/options.h"
#include "fs/meta/filesystem.h"

struct fuse_conn_info_opts;
struct fuse_session;

namespace chainfs::fuse {

class Transport;

struct Context {
  fs::Filesystem* fs = nullptr;
  Options options;
  fuse_conn_info_opts* conn_opts = nullptr;  // owned by the CommandLine; may be null
  fuse_session* se = nullptr;                // for invalidation notifications; set before the loop
  unsigned max_read = 0;                     // must equal the max_read= mount option
  // Entry, attribute and negative-entry timeouts in seconds. chainfs is single-writer
  // (one mount per device, enforced): every change reaches the filesystem through this
  // kernel mount, which invalidates what it changes, so its cache can be trusted for long.
  double timeout_s = 3600.0;
  std::atomic<bool> writeback_cache{false};  // negotiated in init()
  // cache=kernel: replies to O_DIRECT writes (made in init, ended in destroy).
  std::unique_ptr<DirectWriteReplies> direct_writes;
  Transport* transport = nullptr;            // the session's custom I/O (transport.h), if any
};

}  // namespace chainfs::fuse
