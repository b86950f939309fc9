#include "io/sync_device.h"

#include <unistd.h>

#include <cerrno>
#include <vector>

namespace chainfs::io {

int SyncDevice::open(const std::string& path, const OpenOptions& opts, std::unique_ptr<SyncDevice>* out) {
  DeviceFd fd;
  bool direct = false;
  if (int r = open_device_fd(path, opts, &fd, &direct); r < 0) return r;
  int64_t size = device_size(fd.get());
  if (size < 0) return static_cast<int>(size);
  QueueLimits limits = read_queue_limits(fd.get());
  out->reset(new SyncDevice(std::move(fd), static_cast<uint64_t>(size), limits, direct));
  return 0;
}

namespace {

// Runs preadv/pwritev until the whole vector is transferred.
template <class Op>
int transfer(Op op, uint64_t offset, const struct iovec* iov, int iovcnt, uint64_t dev_size) {
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  if (offset > dev_size || total > dev_size - offset) return -EIO;
  std::vector<struct iovec> v(iov, iov + iovcnt);
  size_t first = 0;
  while (first < v.size()) {
    int n = static_cast<int>(std::min<size_t>(v.size() - first, IOV_MAX));
    ssize_t r = op(v.data() + first, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) return -EIO;
    offset += static_cast<uint64_t>(r);
    auto left = static_cast<size_t>(r);
    while (first < v.size() && left >= v[first].iov_len) left -= v[first++].iov_len;
    if (left) {
      v[first].iov_base = static_cast<char*>(v[first].iov_base) + left;
      v[first].iov_len -= left;
    }
  }
  return 0;
}

}  // namespace

int SyncDevice::readv(uint64_t offset, const struct iovec* iov, int iovcnt) {
  int fd = fd_.get();
  return transfer([fd](const struct iovec* v, int n, off_t off) { return ::preadv(fd, v, n, off); },
                  offset, iov, iovcnt, size_);
}

int SyncDevice::writev(uint64_t offset, const struct iovec* iov, int iovcnt) {
  int fd = fd_.get();
  return transfer([fd](const struct iovec* v, int n, off_t off) { return ::pwritev(fd, v, n, off); },
                  offset, iov, iovcnt, size_);
}

int SyncDevice::flush() { return ::fdatasync(fd_.get()) == 0 ? 0 : -errno; }

}  // namespace chainfs::io
