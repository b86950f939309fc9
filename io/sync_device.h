#pragma once
// SyncDevice: pread/pwrite on an O_DIRECT descriptor, one system call per request.
// The first device implementation and the write_strategy=sync baseline.
#include <memory>
#include <string>

#include "io/device.h"

namespace chainfs::io {

class SyncDevice final : public Device {
 public:
  // Opens path (see open_device_fd); 0 or -errno.
  static int open(const std::string& path, const OpenOptions& opts, std::unique_ptr<SyncDevice>* out);

  uint64_t size_bytes() const override { return size_; }
  const QueueLimits& limits() const override { return limits_; }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int flush() override;

  int fd() const { return fd_.get(); }
  bool direct() const { return direct_; }

 private:
  SyncDevice(DeviceFd fd, uint64_t size, QueueLimits limits, bool direct)
      : fd_(std::move(fd)), size_(size), limits_(limits), direct_(direct) {}
  DeviceFd fd_;
  uint64_t size_;
  QueueLimits limits_;
  bool direct_;
};

}  // namespace chainfs::io
