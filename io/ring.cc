#include "io/ring.h"

#include <cerrno>

namespace chainfs::io {

Ring::~Ring() {
  if (!ready_) return;
  // The ring itself is torn down asynchronously after close; a registered file would keep
  // its reference (and a block device's O_EXCL claim) until then. Unregistering waits.
  if (file_registered_) io_uring_unregister_files(&ring_);
  io_uring_queue_exit(&ring_);
}

int Ring::init(unsigned entries, unsigned flags) {
  if (ready_) return -EBUSY;
  struct io_uring_params p {};
  p.flags = flags | IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 2;  // in-flight is bounded by the SQ size, so the CQ never overflows
  int r = io_uring_queue_init_params(entries, &ring_, &p);
  if (r < 0) return r;
  ready_ = true;
  return 0;
}

int Ring::submit() {
  for (;;) {
    int r = io_uring_submit(&ring_);
    if (r == -EINTR || r == -EAGAIN) continue;
    return r;
  }
}

int Ring::wait_cqe(struct io_uring_cqe** cqe) {
  for (;;) {
    int r = io_uring_wait_cqe(&ring_, cqe);
    if (r == -EINTR) continue;
    return r;
  }
}

int Ring::register_file(int fd) {
  int r = io_uring_register_files(&ring_, &fd, 1);
  if (r == 0) file_registered_ = true;
  return r;
}

int Ring::register_buffers(const struct iovec* iov, unsigned n) { return io_uring_register_buffers(&ring_, iov, n); }

}  // namespace chainfs::io
