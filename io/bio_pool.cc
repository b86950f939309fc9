#include "io/bio_pool.h"

#include <algorithm>

namespace chainfs::io {

BioPool::BioPool(BioDevice& dev, uint32_t requests) : dev_(dev) {
  const QueueLimits& l = dev.limits();
  size_t segs = std::max<uint32_t>(l.max_segments, 1);
  size_t pages = effective_max_request(l) / 4096 + 2;
  for (uint32_t i = 0; i < std::max<uint32_t>(requests, 1); ++i) {
    auto b = std::make_unique<Bio>();
    // Reserved up front so appends and splits do not allocate while I/O is under way.
    b->own_segments().reserve(segs + 2);
    b->pages().reserve(pages);
    free_.push_back(b.get());
    all_.push_back(std::move(b));
  }
}

uint32_t BioPool::free_count() const {
  base::MutexLock lk(mu_);
  return static_cast<uint32_t>(free_.size());
}

Bio* BioPool::get(BioOp op, uint64_t offset) {
  Bio* b = nullptr;
  {
    base::MutexLock lk(mu_);
    if (!free_.empty()) {
      b = free_.back();
      free_.pop_back();
    }
  }
  bool counted = false;
  while (!b) {
    // Every request is taken: wait for the oldest in flight (it is the likeliest to finish
    // first) and reuse it. If no request is in flight, all are being built by other chains;
    // wait for any to come back.
    Bio* oldest = nullptr;
    {
      base::MutexLock lk(mu_);
      if (!in_flight_.empty()) oldest = in_flight_.front();
    }
    if (!counted) {
      dev_.stats().on_backup_wait();
      counted = true;
    }
    dev_.wait_until([&] {
      base::MutexLock lk(mu_);
      if (oldest) return std::find(free_.begin(), free_.end(), oldest) != free_.end();
      return !free_.empty();
    });
    base::MutexLock lk(mu_);
    auto it = oldest ? std::find(free_.begin(), free_.end(), oldest) : free_.begin();
    if (it != free_.end()) {
      b = *it;
      free_.erase(it);
    }  // else another thread took it first: wait again
  }
  b->reset(op, offset);
  b->set_release(&BioPool::release, this);
  return b;
}

void BioPool::mark_in_flight(Bio* b) {
  base::MutexLock lk(mu_);
  in_flight_.push_back(b);
}

void BioPool::put(Bio* b) {
  base::MutexLock lk(mu_);
  auto it = std::find(in_flight_.begin(), in_flight_.end(), b);
  if (it != in_flight_.end()) in_flight_.erase(it);
  free_.push_back(b);
}

}  // namespace chainfs::io
