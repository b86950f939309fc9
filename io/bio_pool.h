#pragma once
// BioPool: the bounded set of requests (bios with their segment and page vectors,
// preallocated for the device's largest request) that the bio_chain builders of one device
// draw from. get() never fails: when every request is in flight it waits for the oldest
// one to finish and hands that one out again — the per-device "backup request" of the
// never-fails idea. Memory pressure slows I/O down; it never becomes ENOMEM.
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/bio.h"
#include "io/bio_device.h"

namespace chainfs::io {

class BioPool {
 public:
  // `requests` bios sized for dev.limits(). REQUIRES: requests >= 1; dev outlives the pool.
  BioPool(BioDevice& dev, uint32_t requests);
  BioPool(const BioPool&) = delete;
  BioPool& operator=(const BioPool&) = delete;

  // A free request, reset(op, offset), with release() as its release hook. Waits (and
  // counts a backup wait in dev.stats()) when none is free.
  Bio* get(BioOp op, uint64_t offset) EXCLUDES(mu_);
  // Records submission order, so get() knows which request is the oldest in flight.
  void mark_in_flight(Bio* b) EXCLUDES(mu_);
  // Takes a finished request back (its release hook calls this).
  void put(Bio* b) EXCLUDES(mu_);

  uint32_t size() const { return static_cast<uint32_t>(all_.size()); }
  uint32_t free_count() const EXCLUDES(mu_);
  BioDevice& device() { return dev_; }

 private:
  static void release(void* ctx, Bio* b) { static_cast<BioPool*>(ctx)->put(b); }

  BioDevice& dev_;
  std::vector<std::unique_ptr<Bio>> all_;
  mutable base::Mutex mu_;  // leaf lock; may be taken inside the device's completion lock
  std::vector<Bio*> free_ GUARDED_BY(mu_);
  std::deque<Bio*> in_flight_ GUARDED_BY(mu_);  // oldest first
};

}  // namespace chainfs::io
