#pragma once
// MemDevice: a device in memory, for unit tests. Thread-safe.
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/device.h"

namespace chainfs::io {

class MemDevice final : public Device {
 public:
  explicit MemDevice(uint64_t size_bytes, QueueLimits limits = {});

  uint64_t size_bytes() const override { return data_.size(); }
  const QueueLimits& limits() const override { return limits_; }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override EXCLUDES(mu_);
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override EXCLUDES(mu_);
  int flush() override EXCLUDES(mu_);

  uint64_t flushes() const EXCLUDES(mu_);
  // Direct access for tests that corrupt or inspect the image.
  std::vector<char>& bytes() { return data_; }

 private:
  mutable base::Mutex mu_;
  // The bytes are read and written under mu_. The vector never changes size, so
  // size_bytes() and bytes() use it without the lock.
  std::vector<char> data_;
  QueueLimits limits_;
  uint64_t flushes_ GUARDED_BY(mu_) = 0;
};

}  // namespace chainfs::io
