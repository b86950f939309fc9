#include "io/device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace chainfs::io {

DeviceFd& DeviceFd::operator=(DeviceFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

DeviceFd::~DeviceFd() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t device_size(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return -errno;
  if (S_ISREG(st.st_mode)) return st.st_size;
  if (!S_ISBLK(st.st_mode)) return -ENOTBLK;
  uint64_t bytes = 0;
  if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) return -errno;
  return static_cast<int64_t>(bytes);
}

namespace {

int try_open(const std::string& path, const OpenOptions& opts, bool direct, bool is_blk) {
  int flags = (opts.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (direct) flags |= O_DIRECT;
  if (opts.exclusive && is_blk && !opts.kernel_claims) flags |= O_EXCL;  // the kernel's claim on a block device
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return -errno;
  if (opts.exclusive) {
    // Image files have no O_EXCL claim; an advisory lock keeps two chainfs off one file.
    int lk = opts.read_only ? LOCK_SH : LOCK_EX;
    if (flock(fd, lk | LOCK_NB) != 0) {
      int e = errno == EWOULDBLOCK ? EBUSY : errno;
      ::close(fd);
      return -e;
    }
  }
  return fd;
}

}  // namespace

int open_device_fd(const std::string& path, const OpenOptions& opts, DeviceFd* out, bool* direct_out) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -errno;
  bool is_blk = S_ISBLK(st.st_mode);
  if (!is_blk && !S_ISREG(st.st_mode)) return -ENOTBLK;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.busy_wait_ms);
  bool direct = opts.direct;
  for (;;) {
    int fd = try_open(path, opts, direct, is_blk);
    if (fd == -EINVAL && direct) {  // tmpfs and friends refuse O_DIRECT
      direct = false;
      continue;
    }
    if (fd == -EBUSY && std::chrono::steady_clock::now() < deadline) {
      // Nothing signals that the previous holder closed the device: retry until the deadline.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (fd < 0) return fd;
    *out = DeviceFd(fd);
    if (direct_out) *direct_out = direct;
    return 0;
  }
}

}  // namespace chainfs::io
