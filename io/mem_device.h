#pragma once
// MemDevice: a device in memory, for unit tests. Thread-safe.
#include <mutex>
#include <vector>

#include "io/device.h"

namespace chainfs::io {

class MemDevice final : public Device {
 public:
  explicit MemDevice(uint64_t size_bytes, QueueLimits limits = {});

  uint64_t size_bytes() const override { return data_.size(); }
  const QueueLimits& limits() const override { return limits_; }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int flush() override;

  uint64_t flushes() const;
  // Direct access for tests that corrupt or inspect the image.
  std::vector<char>& bytes() { return data_; }

 private:
  mutable std::mutex mu_;
  std::vector<char> data_;
  QueueLimits limits_;
  uint64_t flushes_ = 0;
};

}  // namespace chainfs::io
