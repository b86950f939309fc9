#include "io/mem_device.h"

#include <cerrno>
#include <cstring>

namespace chainfs::io {

MemDevice::MemDevice(uint64_t size_bytes, QueueLimits limits) : data_(size_bytes), limits_(limits) {}

int MemDevice::readv(uint64_t offset, const struct iovec* iov, int iovcnt) {
  base::MutexLock lk(mu_);
  for (int i = 0; i < iovcnt; ++i) {
    if (offset > data_.size() || iov[i].iov_len > data_.size() - offset) return -EIO;
    std::memcpy(iov[i].iov_base, data_.data() + offset, iov[i].iov_len);
    offset += iov[i].iov_len;
  }
  return 0;
}

int MemDevice::writev(uint64_t offset, const struct iovec* iov, int iovcnt) {
  base::MutexLock lk(mu_);
  for (int i = 0; i < iovcnt; ++i) {
    if (offset > data_.size() || iov[i].iov_len > data_.size() - offset) return -EIO;
    std::memcpy(data_.data() + offset, iov[i].iov_base, iov[i].iov_len);
    offset += iov[i].iov_len;
  }
  return 0;
}

int MemDevice::flush() {
  base::MutexLock lk(mu_);
  ++flushes_;
  return 0;
}

uint64_t MemDevice::flushes() const {
  base::MutexLock lk(mu_);
  return flushes_;
}

}  // namespace chainfs::io
