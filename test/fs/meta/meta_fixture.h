#pragma once
// Test helpers: a MemDevice that outlives mounts (io::BorrowedDevice hands the filesystem a
// non-owning view), mkfs + mount in one call.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fs/meta/filesystem.h"
#include "fs/meta/mkfs.h"
#include "io/borrowed_device.h"
#include "io/mem_device.h"

namespace chainfs::test {

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
    auto r = fs::mount_filesystem(std::make_unique<io::BorrowedDevice>(dev), opts, &msg);
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
