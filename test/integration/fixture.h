#pragma once
// TestFs: a fresh chainfs for one test case: image file -> loop device -> mkfs.chainfs ->
// mountpoint -> mount. Members are declared so that destruction runs the other way round:
// unmount, remove the mountpoint, detach the loop device, delete the image. With
// CHAINFS_TEST_DEVICE=nbd in the environment the device is an nbdkit server (file plugin)
// over the image, on a Unix socket, and dev() its nbd+unix:// URI.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "test/lib/loop_device.h"
#include "test/lib/mount.h"
#include "test/lib/nbdkit.h"
#include "test/lib/subprocess.h"
#include "test/lib/temp.h"

namespace chainfs::test {

inline const char* daemon_bin() { return CHAINFS_BIN; }
inline const char* mkfs_bin() { return MKFS_BIN; }
inline const char* fsck_bin() { return FSCK_BIN; }

class TestFs {
 public:
  // size: image size; mount_opts: -o options for the first mount ("" = defaults);
  // mount: false to leave it unmounted.
  explicit TestFs(uint64_t size = 256ull << 20, const std::string& mount_opts = "", bool mount = true);

  const std::string& dev() const { return dev_; }
  const std::string& mnt() const { return dir_.path(); }
  std::string p(const std::string& name) const { return dir_.path() + "/" + name; }

  void mount(const std::string& opts = "");
  // Unmounts (waiting for the daemon to flush and exit) and runs "fsck.chainfs -n DEV":
  // status 0 means the filesystem is consistent and was cleanly unmounted.
  RunResult unmount_and_fsck();
  bool unmount() { return mount_ ? mount_->unmount() : true; }
  // "umount MNT" with umount(8), then at once a new mount (the old daemon may still be
  // flushing: the new one waits for the device).
  void cycle(const std::string& opts = "");
  // Hands an external mount (made by mount(8)) to this fixture's cleanup.
  void adopt_mount() {
    if (mount_) mount_->disown();  // that one is gone already; do not unmount the new one
    mount_ = std::make_unique<Mount>(Mount::Adopt{}, dir_.path());
  }

 private:
  TempImage image_;
  std::unique_ptr<LoopDevice> loop_;
  std::unique_ptr<Nbdkit> nbd_;
  std::string dev_;
  TempDir dir_;
  std::unique_ptr<Mount> mount_;
};

// opts with $CHAINFS_TEST_OPTS in front: ctest runs the suite once with the defaults and
// once with CHAINFS_TEST_OPTS=cache=direct.
std::string with_env_opts(const std::string& opts);

// Small file helpers that turn failures into errno values the tests can CHECK.
int write_file(const std::string& path, const std::string& data, int flags = 0);  // 0 or errno
std::string read_file(const std::string& path);  // throws on error
int errno_of(int rc);                            // rc == -1 ? errno : 0
// Deterministic pseudo-random bytes (seeded): content that catches misplaced blocks.
std::string pattern(size_t size, uint32_t seed);

}  // namespace chainfs::test
