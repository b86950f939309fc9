#include "test/lib/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace chainfs::test {

namespace {
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};
}  // namespace

LoopDevice::LoopDevice(const std::string& image, bool direct_io) {
  Fd ctl(open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (ctl.fd < 0) throw std::runtime_error(std::string("open /dev/loop-control: ") + std::strerror(errno));
  Fd img(open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (img.fd < 0) throw std::runtime_error("open " + image + ": " + std::strerror(errno));
  // Other tests attach devices at the same time: a free number may be taken before we
  // configure it (EBUSY), then ask again.
  for (int attempt = 0; attempt < 50; ++attempt) {
    int n = ioctl(ctl.fd, LOOP_CTL_GET_FREE);
    if (n < 0) throw std::runtime_error(std::string("LOOP_CTL_GET_FREE: ") + std::strerror(errno));
    std::string path = "/dev/loop" + std::to_string(n);
    Fd dev(open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (dev.fd < 0) continue;
    loop_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.fd = static_cast<__u32>(img.fd);
    if (direct_io) cfg.info.lo_flags = LO_FLAGS_DIRECT_IO;
    if (ioctl(dev.fd, LOOP_CONFIGURE, &cfg) == 0) {
      path_ = path;
      return;
    }
    if (errno != EBUSY) throw std::runtime_error("LOOP_CONFIGURE " + path + ": " + std::strerror(errno));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("no free loop device for " + image);
}

LoopDevice::~LoopDevice() {
  // LOOP_CLR_FD on a device still open elsewhere marks it auto-clear and returns 0, so
  // the device goes away at the holder's last close at the latest.
  bool cleared = false;
  for (int attempt = 0; attempt < 100 && !cleared; ++attempt) {
    Fd dev(open(path_.c_str(), O_RDWR | O_CLOEXEC));
    if (dev.fd < 0) return;
    cleared = ioctl(dev.fd, LOOP_CLR_FD) == 0 || errno == ENXIO;
    if (!cleared) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The kernel lets go of the file after the last close, asynchronously: a test that reuses
  // the image (or counts loop devices) right after must not see it still attached.
  std::string backing = "/sys/block/" + name() + "/loop/backing_file";
  for (int i = 0; i < 100 && access(backing.c_str(), F_OK) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace chainfs::test
