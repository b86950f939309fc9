#pragma once
// UringDevice: the device on io_uring. Two faces:
//  * Device (device.h): synchronous readv/writev/flush, each built on async submissions
//    (split at the queue limits, one batch, wait for the compound completion);
//  * BioDevice (bio_device.h): submit bios, completion callbacks where the completion mode
//    says — what the bio_chain builder and the page cache use.
// Threads: any number of submitters (the SQ side is serialised by one lock), one reaper,
// and, in completion=thread, one completion thread. At most queue_depth requests are in
// flight; submit() blocks while the ring is full (the reaper frees slots on its own, so
// this cannot deadlock as long as callbacks do not submit).
//
// Inline-completion bios (bio.h: the submitting thread waits for them itself) skip all of
// that: they go to a ring lent to the submitting thread (own_rings.h), which reaps it in
// wait_until() and runs their callbacks there. A completion then wakes only the thread that
// waits for it. Such a ring holds at most min(queue_depth, 32) of its thread's requests, on
// top of the shared ring's queue_depth.
#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/bio_device.h"
#include "io/completion_thread.h"
#include "io/device.h"
#include "io/io_stats.h"
#include "io/own_rings.h"
#include "io/reaper.h"
#include "io/ring.h"

namespace chainfs::io {

struct UringOptions {
  unsigned queue_depth = 128;  // ring size = most requests in flight
  CompletionMode completion = CompletionMode::kThread;
  // Register the device fd with the ring (IOSQE_FIXED_FILE): saves an fget/fput per request.
  bool register_file = true;
  // Use READ/WRITE_FIXED for single-segment bios inside buffers given to register_buffers()
  // (the kernel has no vectored fixed ops before 6.15, so multi-segment bios never use them).
  bool fixed_buffers = true;
  // Replaces the limits read from sysfs (tests of splitting on image files).
  std::optional<QueueLimits> limits;
};

class UringDevice final : public Device, public BioDevice {
 public:
  // Opens path (see open_device_fd) and starts the reaper (and completion thread); 0 or -errno.
  static int open(const std::string& path, const OpenOptions& opts, const UringOptions& uopts,
                  std::unique_ptr<UringDevice>* out);
  // Waits for everything in flight and runs its callbacks.
  ~UringDevice() override;

  uint64_t size_bytes() const override { return size_; }
  const QueueLimits& limits() const override { return limits_; }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int flush() override;
  BioDevice* bio_face() override { return this; }

  using BioDevice::submit;
  void submit(Bio* const* bios, size_t n) override;
  // Reaps the calling thread's own ring first (nobody else can), then waits on the shared one.
  void wait_until(const std::function<bool()>& done) override;
  uint32_t in_flight() const override {
    return in_flight_.load(std::memory_order_acquire) + own_in_flight_.load(std::memory_order_acquire);
  }
  IoStats& stats() override { return stats_; }

  // Registers memory regions (e.g. the page pool's arenas) for fixed-buffer I/O. Call before
  // any I/O; 0 or -errno (-ENOMEM past RLIMIT_MEMLOCK, for example).
  int register_buffers(const struct iovec* regions, unsigned n);

  const UringOptions& options() const { return uopts_; }
  int fd() const { return fd_.get(); }
  bool direct() const { return direct_; }
  std::thread::id reaper_thread_id() const { return reaper_->thread_id(); }
  std::thread::id completion_thread_id() const { return completions_->thread_id(); }
  // Rings lent to waiting threads so far; for tests.
  size_t own_rings() const { return own_.rings(); }

 private:
  UringDevice(DeviceFd fd, uint64_t size, QueueLimits limits, bool direct, const UringOptions& uopts);
  int start();
  // Prepares the SQE for b's remaining bytes.
  void prep_locked(Bio* b) REQUIRES(sq_mu_);
  void submit_leaves(Bio* const* leaves, size_t n) EXCLUDES(sq_mu_);
  // The calling thread's own ring: submit to it (reaping it first when it is full), and wait
  // for at least one of its completions and finish what completed.
  void submit_own(OwnRings::Lent& own, Bio* const* leaves, size_t n);
  void reap_own(OwnRings::Lent& own);
  void on_cqes(const Reaper::Cqe* cqes, unsigned n) EXCLUDES(sq_mu_);

  DeviceFd fd_;
  uint64_t size_;
  QueueLimits limits_;
  bool direct_;
  UringOptions uopts_;
  IoStats stats_;
  // Its submission queue is filled and submitted under sq_mu_; the reaper owns the
  // completion queue.
  Ring ring_;

  // Submission side. Lock order: sq_mu_ is a leaf (never held while running callbacks).
  base::Mutex sq_mu_;
  std::vector<struct iovec> fixed_ GUARDED_BY(sq_mu_);  // registered regions, by index
  base::CondVar slot_cv_;  // a ring slot was freed
  std::atomic<uint32_t> in_flight_{0};
  uint32_t capacity_ = 0;

  // Rings of threads waiting for their own requests, and what is in flight on them.
  OwnRings own_;
  std::atomic<uint32_t> own_in_flight_{0};

  std::unique_ptr<CompletionThread> completions_;
  std::unique_ptr<Reaper> reaper_;  // declared last: stopped first
};

}  // namespace chainfs::io
