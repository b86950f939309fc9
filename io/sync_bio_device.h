#pragma once
// SyncBioDevice: a BioDevice over any Device (MemDevice, FaultyDevice, SyncDevice). Each
// bio is executed with the device's synchronous readv/writev/flush inside submit(), and
// its callbacks run there too (completion=inline, in the submitter). Used by tests (fault
// injection under the builder) and as the simplest engine. Thread-safe if the device is.
#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/bio_device.h"
#include "io/device.h"

namespace chainfs::io {

class SyncBioDevice final : public BioDevice {
 public:
  explicit SyncBioDevice(Device& dev) : dev_(dev) {}

  const QueueLimits& limits() const override { return dev_.limits(); }
  using BioDevice::submit;
  void submit(Bio* const* bios, size_t n) override;
  void wait_until(const std::function<bool()>& done) override EXCLUDES(mu_);
  uint32_t in_flight() const override { return in_flight_.load(std::memory_order_acquire); }
  IoStats& stats() override { return stats_; }

 private:
  void run_leaf(Bio* b);

  Device& dev_;
  IoStats stats_;
  std::atomic<uint32_t> in_flight_{0};
  // Only orders a finished bio's notification after a waiter's check of `done`; guards no data.
  base::Mutex mu_;
  base::CondVar cv_;
};

}  // namespace chainfs::io
