#pragma once
// Ring: RAII around one struct io_uring (liburing 2.3). Not thread-safe by itself: the
// owner serialises the submission side (get_sqe/submit) with a lock, and exactly one
// thread (the reaper) uses the completion side (wait/peek/advance). That split is safe
// because liburing's SQ and CQ state are disjoint. A ring lent to one thread for its own
// requests (own_rings.h) has that thread on both sides. No IORING_SETUP_DEFER_TASKRUN: it
// requires the submitting thread to reap, and chainfs reaps in a separate thread.
#include <liburing.h>
#include <sys/uio.h>

#include <cstdint>

namespace chainfs::io {

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Sets up a ring of `entries` SQEs (a power of two is used) and twice as many CQEs.
  // 0 or -errno.
  int init(unsigned entries, unsigned flags = 0);
  bool ready() const { return ready_; }
  unsigned sq_entries() const { return ring_.sq.ring_entries; }

  // Submission side. get_sqe returns nullptr when the SQ is full (submit() then retry).
  struct io_uring_sqe* get_sqe() { return io_uring_get_sqe(&ring_); }
  // Submits everything prepared; number submitted or -errno (-EINTR/-EAGAIN retried inside).
  int submit();

  // Completion side. Waits for at least one CQE (-EINTR retried); 0 or -errno.
  int wait_cqe(struct io_uring_cqe** cqe);
  unsigned peek_batch(struct io_uring_cqe** cqes, unsigned n) { return io_uring_peek_batch_cqe(&ring_, cqes, n); }
  void advance(unsigned n) { io_uring_cq_advance(&ring_, n); }

  // Registration. The registered file is index 0 (use IOSQE_FIXED_FILE); buffers are
  // indexed in the order given (use the *_FIXED ops). 0 or -errno.
  int register_file(int fd);
  int register_buffers(const struct iovec* iov, unsigned n);
  bool file_registered() const { return file_registered_; }

 private:
  struct io_uring ring_ {};
  bool ready_ = false;
  bool file_registered_ = false;
};

}  // namespace chainfs::io
