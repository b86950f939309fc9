#include "io/uring_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "base/log.h"

namespace chainfs::io {

namespace {

// SQEs of a ring lent to one waiting thread: a page-cache read or a metadata write rarely
// has more requests in flight at once; more are reaped before they are submitted.
constexpr unsigned kOwnRingEntries = 32;

uint64_t ns_since(std::chrono::steady_clock::time_point t) {
  auto d = std::chrono::steady_clock::now() - t;
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// Advances the bio's iovecs past `n` transferred bytes (short transfer), in place.
void advance_iov(Bio* b, uint64_t n) {
  struct iovec* v = b->iov();
  for (int i = 0; i < b->iovcnt() && n; ++i) {
    uint64_t k = std::min<uint64_t>(n, v[i].iov_len);
    v[i].iov_base = static_cast<char*>(v[i].iov_base) + k;
    v[i].iov_len -= k;
    n -= k;
  }
}

// The index of the registered region holding [base, base + len), or -1.
int fixed_index(const std::vector<struct iovec>& regions, const void* base, size_t len) {
  auto p = reinterpret_cast<uintptr_t>(base);
  for (size_t i = 0; i < regions.size(); ++i) {
    auto s = reinterpret_cast<uintptr_t>(regions[i].iov_base);
    if (p >= s && p + len <= s + regions[i].iov_len) return static_cast<int>(i);
  }
  return -1;
}

// Fills sqe for b's remaining bytes on fd (a registered file's index when fixed_file); a
// single segment inside one of `fixed` (registered buffers, if any) uses the fixed ops.
void fill_sqe(struct io_uring_sqe* sqe, Bio* b, int fd, bool fixed_file,
              const std::vector<struct iovec>* fixed = nullptr) {
  uint64_t off = b->offset() + b->done_bytes;
  // Skip segments already transferred by a short completion.
  struct iovec* v = b->iov();
  int cnt = b->iovcnt();
  while (cnt > 0 && v->iov_len == 0) {
    ++v;
    --cnt;
  }
  if (b->op() == BioOp::kFlush) {
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
  } else if (cnt == 1) {
    int idx = fixed ? fixed_index(*fixed, v->iov_base, v->iov_len) : -1;
    auto len = static_cast<unsigned>(v->iov_len);
    if (b->op() == BioOp::kWrite) {
      if (idx >= 0) io_uring_prep_write_fixed(sqe, fd, v->iov_base, len, off, idx);
      else io_uring_prep_write(sqe, fd, v->iov_base, len, off);
    } else {
      if (idx >= 0) io_uring_prep_read_fixed(sqe, fd, v->iov_base, len, off, idx);
      else io_uring_prep_read(sqe, fd, v->iov_base, len, off);
    }
  } else if (b->op() == BioOp::kWrite) {
    io_uring_prep_writev(sqe, fd, v, static_cast<unsigned>(cnt), off);
  } else {
    io_uring_prep_readv(sqe, fd, v, static_cast<unsigned>(cnt), off);
  }
  if (fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data(sqe, b);
}

// What a CQE's result means for b: true with *status when b is finished; false when it
// must go again for its remaining bytes (a short transfer, already accounted, or EAGAIN).
bool settle(Bio* b, int res, int* status) {
  *status = 0;
  if (b->op() == BioOp::kFlush) {
    *status = res < 0 ? res : 0;
    return true;
  }
  if (res == -EAGAIN || (res > 0 && b->done_bytes + static_cast<uint64_t>(res) < b->bytes())) {
    // Continue where the transfer stopped.
    if (res > 0) {
      advance_iov(b, static_cast<uint64_t>(res));
      b->done_bytes += static_cast<uint64_t>(res);
    }
    return false;
  }
  if (res < 0) *status = res;
  else if (res == 0) *status = -EIO;  // nothing transferred: past the end of the device
  return true;
}

// Submits what is prepared on ring, however long the kernel refuses.
void submit_prepared(Ring& ring) {
  for (int tries = 0;; ++tries) {
    int r = ring.submit();
    if (r >= 0) return;
    // -EBUSY/-ENOMEM are transient (the kernel is short of memory or CQ room); anything else
    // means a broken ring, which cannot be reported through submit(): say so and keep trying.
    if (tries == 0 && r != -EBUSY && r != -ENOMEM)
      base::log(base::LogLevel::kError, fmt::format("io_uring submit failed: {}", r));
    // A back-off between retries of a refused submit, not a poll for completions: the kernel
    // gives no event for "room again" (the reaper frees CQ room on its own meanwhile, and a
    // thread's own ring never has more in flight than it has CQ room).
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

UringDevice::UringDevice(DeviceFd fd, uint64_t size, QueueLimits limits, bool direct, const UringOptions& uopts)
    : fd_(std::move(fd)),
      size_(size),
      limits_(limits),
      direct_(direct),
      uopts_(uopts),
      own_(std::clamp(uopts.queue_depth, 1u, kOwnRingEntries)) {}

int UringDevice::open(const std::string& path, const OpenOptions& opts, const UringOptions& uopts,
                      std::unique_ptr<UringDevice>* out) {
  DeviceFd fd;
  bool direct = false;
  if (int r = open_device_fd(path, opts, &fd, &direct); r < 0) return r;
  int64_t size = device_size(fd.get());
  if (size < 0) return static_cast<int>(size);
  QueueLimits limits = uopts.limits ? *uopts.limits : read_queue_limits(fd.get());
  std::unique_ptr<UringDevice> dev(new UringDevice(std::move(fd), static_cast<uint64_t>(size), limits, direct, uopts));
  if (int r = dev->start(); r < 0) return r;
  *out = std::move(dev);
  return 0;
}

int UringDevice::start() {
  unsigned qd = uopts_.queue_depth ? uopts_.queue_depth : 1;
  if (int r = ring_.init(qd); r < 0) return r;
  capacity_ = ring_.sq_entries();
  if (uopts_.register_file) {
    // Old kernels lack file registration; plain fds still work, so this is not fatal.
    if (ring_.register_file(fd_.get()) < 0) uopts_.register_file = false;
  }
  completions_ = std::make_unique<CompletionThread>(uopts_.completion, [](Bio* b, int status) { b->end(status); });
  reaper_ = std::make_unique<Reaper>(ring_, [this](const Reaper::Cqe* c, unsigned n) { on_cqes(c, n); });
  reaper_->start();
  return 0;
}

UringDevice::~UringDevice() {
  if (!reaper_) return;  // start() failed: no thread, nothing in flight
  completions_->wait_until([this] { return in_flight_.load(std::memory_order_acquire) == 0; });
  reaper_->request_stop();
  {
    base::MutexLock lk(sq_mu_);
    struct io_uring_sqe* sqe = nullptr;
    while (!(sqe = ring_.get_sqe())) ring_.submit();
    io_uring_prep_nop(sqe);
    sqe->user_data = Reaper::kWakeToken;
    ring_.submit();
  }
  reaper_->join();
  completions_.reset();  // runs callbacks still queued
}

int UringDevice::register_buffers(const struct iovec* regions, unsigned n) {
  base::MutexLock lk(sq_mu_);
  if (in_flight_.load() != 0) return -EBUSY;
  int r = ring_.register_buffers(regions, n);
  if (r == 0) fixed_.assign(regions, regions + n);
  return r;
}

void UringDevice::prep_locked(Bio* b) {
  struct io_uring_sqe* sqe = nullptr;
  while (!(sqe = ring_.get_sqe())) ring_.submit();  // SQ full of prepared entries: push them
  fill_sqe(sqe, b, uopts_.register_file ? 0 : fd_.get(), uopts_.register_file,
           uopts_.fixed_buffers ? &fixed_ : nullptr);
}

void UringDevice::submit_leaves(Bio* const* leaves, size_t n) {
  base::MutexLock lk(sq_mu_);
  size_t prepared = 0;
  for (size_t i = 0; i < n; ++i) {
    if (in_flight_.load(std::memory_order_relaxed) >= capacity_) {
      if (prepared) ring_.submit();
      prepared = 0;
      while (in_flight_.load(std::memory_order_relaxed) >= capacity_) slot_cv_.wait(sq_mu_);
    }
    Bio* b = leaves[i];
    b->done_bytes = 0;
    b->submitted_at = std::chrono::steady_clock::now();
    prep_locked(b);
    uint32_t now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
    stats_.on_submit(b->op(), b->bytes(), static_cast<uint32_t>(b->iovcnt()), now);
    ++prepared;
  }
  if (!prepared) return;
  submit_prepared(ring_);
}

void UringDevice::submit(Bio* const* bios, size_t n) {
  submit_split(limits_, stats_, bios, n, [this](Bio* const* leaves, size_t k) {
    // Runs of inline and other bios, in order: the first to the thread's own ring.
    for (size_t i = 0; i < k;) {
      size_t j = i + 1;
      const bool inl = leaves[i]->inline_completion();
      while (j < k && leaves[j]->inline_completion() == inl) ++j;
      OwnRings::Lent* own = inl ? own_.current() : nullptr;
      if (own) submit_own(*own, leaves + i, j - i);
      else submit_leaves(leaves + i, j - i);
      i = j;
    }
  });
}

void UringDevice::submit_own(OwnRings::Lent& own, Bio* const* leaves, size_t n) {
  const unsigned capacity = own.ring.sq_entries();
  for (size_t i = 0; i < n; ++i) {
    if (own.in_flight >= capacity) {
      submit_prepared(own.ring);
      while (own.in_flight >= capacity) reap_own(own);
    }
    Bio* b = leaves[i];
    b->done_bytes = 0;
    b->submitted_at = std::chrono::steady_clock::now();
    struct io_uring_sqe* sqe = nullptr;
    while (!(sqe = own.ring.get_sqe())) own.ring.submit();
    fill_sqe(sqe, b, fd_.get(), false);
    ++own.in_flight;
    uint32_t now = own_in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1 + in_flight_.load(std::memory_order_relaxed);
    stats_.on_submit(b->op(), b->bytes(), static_cast<uint32_t>(b->iovcnt()), now);
  }
  submit_prepared(own.ring);
}

void UringDevice::reap_own(OwnRings::Lent& own) {
  struct io_uring_cqe* first = nullptr;
  for (bool reported = false;;) {
    int r = own.ring.wait_cqe(&first);
    if (r == 0) break;
    // Only this thread can finish these requests: report once and keep trying.
    if (!reported) base::log(base::LogLevel::kError, fmt::format("io_uring wait failed: {}", r));
    reported = true;
    // A back-off between retries of a failed wait (see Reaper::loop).
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  struct io_uring_cqe* cqes[Reaper::kBatch];
  unsigned n = own.ring.peek_batch(cqes, Reaper::kBatch);
  Bio* done[Reaper::kBatch];
  int status[Reaper::kBatch];
  unsigned nd = 0;
  bool resubmit = false;
  for (unsigned i = 0; i < n; ++i) {
    auto* b = reinterpret_cast<Bio*>(cqes[i]->user_data);
    int st = 0;
    if (!settle(b, cqes[i]->res, &st)) {
      // It keeps its slot and goes again.
      struct io_uring_sqe* sqe = nullptr;
      while (!(sqe = own.ring.get_sqe())) own.ring.submit();
      fill_sqe(sqe, b, fd_.get(), false);
      stats_.on_resubmit();
      resubmit = true;
      continue;
    }
    done[nd] = b;
    status[nd++] = st;
  }
  own.ring.advance(n);
  if (resubmit) own.ring.submit();
  own.in_flight -= nd;
  own_in_flight_.fetch_sub(nd, std::memory_order_acq_rel);
  for (unsigned i = 0; i < nd; ++i) {
    stats_.on_complete(ns_since(done[i]->submitted_at), status[i]);
    done[i]->end(status[i]);
  }
  // A request back in its pool may be what another thread waits for (BioPool::get).
  if (nd) completions_->notify();
}

void UringDevice::on_cqes(const Reaper::Cqe* cqes, unsigned n) {
  struct Done {
    Bio* bio;
    int status;
  };
  Done done[Reaper::kBatch];
  unsigned nd = 0;
  bool resubmit_any = false;
  {
    // Taken for the whole batch: the bios were prepared under this lock, and the kernel's
    // SQE-to-CQE ordering is invisible to ThreadSanitizer; the lock makes it explicit.
    base::MutexLock lk(sq_mu_);
    for (unsigned i = 0; i < n; ++i) {
      auto* b = reinterpret_cast<Bio*>(cqes[i].user_data);
      int status = 0;
      if (!settle(b, cqes[i].res, &status)) {
        // Retry without giving up the slot.
        prep_locked(b);
        stats_.on_resubmit();
        resubmit_any = true;
        continue;
      }
      done[nd++] = {b, status};
    }
    if (resubmit_any) ring_.submit();
    if (nd) {
      in_flight_.fetch_sub(nd, std::memory_order_acq_rel);
      slot_cv_.notify_all();
    }
  }
  for (unsigned i = 0; i < nd; ++i) {
    stats_.on_complete(ns_since(done[i].bio->submitted_at), done[i].status);
    // Inline bios reach the shared ring only when their thread could not have a ring of its
    // own; they still complete right here.
    if (done[i].bio->inline_completion()) completions_->run_now(done[i].bio, done[i].status);
    else completions_->post(done[i].bio, done[i].status);
  }
}

void UringDevice::wait_until(const std::function<bool()>& done) {
  if (OwnRings::Lent* own = own_.held()) {
    while (own->in_flight > 0 && !done()) reap_own(*own);
    if (own->in_flight == 0) own_.release();
    if (done()) return;
  }
  completions_->wait_until(done);
}

int UringDevice::readv(uint64_t offset, const struct iovec* iov, int iovcnt) {
  return sync_bio_io(*this, size_, BioOp::kRead, offset, iov, iovcnt);
}

int UringDevice::writev(uint64_t offset, const struct iovec* iov, int iovcnt) {
  return sync_bio_io(*this, size_, BioOp::kWrite, offset, iov, iovcnt);
}

int UringDevice::flush() { return sync_bio_io(*this, size_, BioOp::kFlush, 0, nullptr, 0); }

}  // namespace chainfs::io
