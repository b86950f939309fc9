#pragma once
// SessionTransport: the transport a mounted session runs with, as -o transport= and
// -o readahead= ask, set up between fuse_session_mount() and the session loop:
//  - always chainfs's Transport (fs/fuse/transport.h) on the session's /dev/fuse descriptor, which
//    negotiates what libfuse 3.14 cannot (parallel dirops, shared mmap with cache=direct,
//    parallel direct writes, max_readahead);
//  - with transport=uring, a UringTransport when the kernel offers FUSE-over-io_uring;
//    when /sys/module/fuse/parameters/enable_uring is N, one log line says so and how to
//    turn it on, and the mount runs on /dev/fuse (transport=dev);
//  - the mount's kernel readahead (/sys/class/bdi/MAJ:MIN/read_ahead_kb, root only).
// One log line after INIT says which transport runs.
#include <memory>
#include <string>

#include "fs/fuse/context.h"
#include "fs/fuse/options.h"

struct fuse_session;

namespace chainfs::fuse {
class UringTransport;
}

namespace chainfs::daemon {

class SessionTransport {
 public:
  SessionTransport();
  ~SessionTransport();
  SessionTransport(const SessionTransport&) = delete;
  SessionTransport& operator=(const SessionTransport&) = delete;

  // conn: the mount's device number as in mountinfo ("0:53"), empty if unknown. Sets
  // ctx->transport. Returns 0 or a negative errno (the session cannot use custom I/O).
  int setup(fuse_session* se, fuse::Context* ctx, const fuse::Options& opts, const std::string& conn);
  // After the session loop ended: stops the ring threads.
  void stop();

 private:
  std::unique_ptr<fuse::Transport> transport_;
  std::unique_ptr<fuse::UringTransport> uring_;
  bool stopped_ = false;
};

// Sets the kernel readahead of the FUSE mount whose device number is conn ("0:53") to
// bytes (rounded down to KiB). Returns 0 or a negative errno.
int set_mount_readahead(const std::string& conn, uint64_t bytes);

}  // namespace chainfs::daemon
