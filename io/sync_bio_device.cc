#include "io/sync_bio_device.h"

#include <chrono>

namespace chainfs::io {

void SyncBioDevice::run_leaf(Bio* b) {
  auto t0 = std::chrono::steady_clock::now();
  uint32_t now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
  stats_.on_submit(b->op(), b->bytes(), static_cast<uint32_t>(b->iovcnt()), now);
  int r = 0;
  switch (b->op()) {
    case BioOp::kRead: r = dev_.readv(b->offset(), b->iov(), b->iovcnt()); break;
    case BioOp::kWrite: r = dev_.writev(b->offset(), b->iov(), b->iovcnt()); break;
    case BioOp::kFlush: r = dev_.flush(); break;
  }
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  stats_.on_complete(static_cast<uint64_t>(ns), r);
  b->end(r);
}

void SyncBioDevice::submit(Bio* const* bios, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    Bio* b = bios[i];
    size_t parts = (b->op() == BioOp::kFlush || b->is_view()) ? 0 : b->split(limits(), 0);
    if (parts == 0) {
      run_leaf(b);
    } else {
      stats_.on_split(SplitReason::kMaxSectors, b->split_count(SplitReason::kMaxSectors));
      stats_.on_split(SplitReason::kMaxSegments, b->split_count(SplitReason::kMaxSegments));
      stats_.on_split(SplitReason::kBoundary, b->split_count(SplitReason::kBoundary));
      // Children first; the parent's own reference last, so it finishes exactly once.
      for (size_t c = 0; c < parts; ++c) run_leaf(b->children()[c].get());
      b->end(0);
    }
  }
  base::MutexLock lk(mu_);
  cv_.notify_all();
}

void SyncBioDevice::wait_until(const std::function<bool()>& done) {
  base::MutexLock lk(mu_);
  while (!done()) cv_.wait(mu_);
}

}  // namespace chainfs::io
