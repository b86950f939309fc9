#pragma once
// Device: the only path from chainfs to its block device (leveldb's Env, for a disk).
// Offsets, lengths and buffer addresses are multiples of limits().logical_block_size
// (4096-byte blocks and AlignedBuffer/pool pages always are). Every call returns 0 or
// a negative errno; a short transfer is retried inside and never reaches the caller.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "io/queue_limits.h"

namespace chainfs::io {

class BioDevice;

class Device {
 public:
  virtual ~Device() = default;
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  virtual uint64_t size_bytes() const = 0;
  virtual const QueueLimits& limits() const = 0;

  virtual int readv(uint64_t offset, const struct iovec* iov, int iovcnt) = 0;
  virtual int writev(uint64_t offset, const struct iovec* iov, int iovcnt) = 0;
  // Makes every completed write durable (fdatasync / FLUSH).
  virtual int flush() = 0;
  // The same device's asynchronous face (bio_device.h), if it has one (UringDevice,
  // NbdDevice and the wrappers over them); nullptr for a synchronous device.
  virtual BioDevice* bio_face() { return nullptr; }

  int read(uint64_t offset, void* buf, size_t len) {
    struct iovec v{buf, len};
    return readv(offset, &v, 1);
  }
  int write(uint64_t offset, const void* buf, size_t len) {
    struct iovec v{const_cast<void*>(buf), len};
    return writev(offset, &v, 1);
  }
};

struct OpenOptions {
  bool read_only = false;
  bool exclusive = true;      // O_EXCL on block devices plus flock(LOCK_EX) on everything
  // The kernel claims the block device itself (a fuseblk mount, after the open): no O_EXCL,
  // which would make that claim fail; the flock still keeps a second chainfs off.
  bool kernel_claims = false;
  bool direct = true;         // O_DIRECT; falls back to buffered I/O + fdatasync where refused
  int busy_wait_ms = 0;       // on EBUSY, retry for this long (a previous daemon may be exiting)
};

// An open device file (block device or image file), owned: closing it releases the
// exclusive claim. RAII around the descriptor.
class DeviceFd {
 public:
  DeviceFd() = default;
  explicit DeviceFd(int fd) : fd_(fd) {}
  DeviceFd(DeviceFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DeviceFd& operator=(DeviceFd&& o) noexcept;
  DeviceFd(const DeviceFd&) = delete;
  DeviceFd& operator=(const DeviceFd&) = delete;
  ~DeviceFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// Opens path for device I/O. Returns 0 or -errno: -EBUSY when another process holds it
// (after busy_wait_ms), -ENOENT, -EACCES, -ENOTBLK for something that is neither a block
// device nor a regular file. *direct_out tells whether O_DIRECT is in effect.
int open_device_fd(const std::string& path, const OpenOptions& opts, DeviceFd* out, bool* direct_out);

// Size in bytes of an open block device or regular file, or -errno.
int64_t device_size(int fd);

}  // namespace chainfs::io
