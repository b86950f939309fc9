#pragma once
// Daemonizer: forks the daemon early, before the device is opened, and keeps the parent
// waiting until the child reports that the mount exists (exit 0) or the child exits with
// its own status (32 for a refused mount, with the child's one-line message already on
// the terminal). mount(8) and scripts therefore see every failure.
//
// Why not fuse_daemonize() after fuse_session_mount(), the usual libfuse order: by then
// the filesystem and its device engine may run threads (periodic flush, io_uring
// completion), and threads do not survive fork(). Forking first gives the same reporting
// (libfuse's later fuse_daemonize_early_* API does the same).
namespace chainfs::daemon {

class Daemonizer {
 public:
  Daemonizer() = default;
  ~Daemonizer();
  Daemonizer(const Daemonizer&) = delete;
  Daemonizer& operator=(const Daemonizer&) = delete;

  // Forks. The parent never returns: it exits with 0 when the child calls success(), or
  // with the child's exit status. Returns 0 in the child, or -errno if fork failed.
  int start();
  // In the child, once the mount exists: releases the parent, detaches from the terminal
  // (new session, cwd /, stdin/stdout/stderr on /dev/null).
  void success();
  bool active() const { return fd_ >= 0; }

 private:
  int fd_ = -1;  // the child's end of the status pipe
};

}  // namespace chainfs::daemon
