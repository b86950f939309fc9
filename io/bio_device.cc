#include "io/bio_device.h"

#include <atomic>
#include <vector>

namespace chainfs::io {

void submit_split(const QueueLimits& limits, IoStats& stats, Bio* const* bios, size_t n,
                  const std::function<void(Bio* const* leaves, size_t n)>& submit_leaves) {
  constexpr size_t kInline = 64;
  Bio* small[kInline];
  std::vector<Bio*> big;
  std::vector<Bio*> parents;
  size_t k = 0;
  auto add = [&](Bio* b) {
    if (k < kInline) small[k++] = b;
    else {
      if (big.empty()) big.assign(small, small + kInline);
      big.push_back(b);
      ++k;
    }
  };
  for (size_t i = 0; i < n; ++i) {
    Bio* b = bios[i];
    size_t parts = (b->op() == BioOp::kFlush || b->is_view()) ? 0 : b->split(limits, 0);
    if (parts == 0) {
      add(b);
      continue;
    }
    stats.on_split(SplitReason::kMaxSectors, b->split_count(SplitReason::kMaxSectors));
    stats.on_split(SplitReason::kMaxSegments, b->split_count(SplitReason::kMaxSegments));
    stats.on_split(SplitReason::kBoundary, b->split_count(SplitReason::kBoundary));
    for (auto& c : b->children()) add(c.get());
    parents.push_back(b);
  }
  submit_leaves(big.empty() ? small : big.data(), k);
  for (Bio* p : parents) p->end(0);
}

int sync_bio_io(BioDevice& dev, uint64_t device_size, BioOp op, uint64_t offset, const struct iovec* iov,
                int iovcnt) {
  Bio bio;
  bio.reset(op, offset);
  if (op != BioOp::kFlush) {
    bio.own_segments().assign(iov, iov + iovcnt);
    bio.recount();
    if (offset > device_size || bio.bytes() > device_size - offset) return -EIO;
    if (bio.bytes() == 0) return 0;
  }
  struct Waiter {
    std::atomic<bool> done{false};
    int status = 0;
  } w;
  // The store is the callback's last access to anything: the waiter may return at once.
  bio.set_inline_completion(true);
  bio.push_end_io([&w](Bio&, int status) {
    w.status = status;
    w.done.store(true, std::memory_order_release);
  });
  dev.submit(bio);
  dev.wait_until([&w] { return w.done.load(std::memory_order_acquire); });
  return w.status;
}

}  // namespace chainfs::io
