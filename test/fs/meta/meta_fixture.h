#pragma once
// Test helpers: a MemDevice that outlives mounts (ForwardDevice hands the filesystem a
// non-owning view), mkfs + mount in one call.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fs/meta/filesystem.h"
#include "fs/meta/mkfs.h"
#include "io/mem_device.h"

namespace chainfs::test {

class ForwardDevice final : public io::Device {
 public:
  explicit ForwardDevice(io::Device& d) : d_(d) {}
  uint64_t size_bytes() const override { return d_.size_bytes(); }
  const io::QueueLimits& limits() const override { return d_.limits(); }
  int readv(uint64_t off, const struct iovec* iov, int n) override { return d_.readv(off, iov, n); }
  int writev(uint64_t off, const struct iovec* iov, int n) override { return d_.writev(off, iov, n); }
  int flush() override { return d_.flush(); }

 private:
  io::Device& d_;
};

struct MemFs {
  explicit MemFs(uint64_t bytes = 64ull << 20, uint64_t inodes = 0) : dev(bytes) {
    fs::MkfsOptions mo;
    mo.inodes = inodes;
    std::string msg;
    int r = fs::make_filesystem(dev, mo, &msg);
    REQUIRE_MESSAGE(r == 0, msg);
    mount();
  }
  ~MemFs() {
    if (fs) fs->unmount();
  }
  void mount(fs::MountOptions opts = {}) {
    std::string msg;
    auto r = fs::mount_filesystem(std::make_unique<ForwardDevice>(dev), opts, &msg);
    REQUIRE_MESSAGE(r.ok(), msg);
    fs = std::move(*r);
  }
  void remount() {
    REQUIRE(fs->unmount() == 0);
    fs.reset();
    mount();
  }
  fs::Filesystem* operator->() { return fs.get(); }

  io::MemDevice dev;
  std::unique_ptr<fs::Filesystem> fs;
};

}  // namespace chainfs::test
