#include "tools/chainfs/mountpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace chainfs::daemon {

namespace {
struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
}  // namespace

int check_mountpoint(const std::string& path, bool allow_nonempty, std::string* absolute, std::string* message) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int e = errno;
    *message = e == ENOENT ? "mountpoint " + path + " does not exist"
                           : "cannot access mountpoint " + path + ": " + std::strerror(e);
    return -e;
  }
  if (!S_ISDIR(st.st_mode)) {
    *message = "mountpoint " + path + " is not a directory";
    return -ENOTDIR;
  }
  char real[PATH_MAX];
  if (!realpath(path.c_str(), real)) {
    int e = errno;
    *message = "cannot resolve mountpoint " + path + ": " + std::strerror(e);
    return -e;
  }
  *absolute = real;
  if (allow_nonempty) return 0;
  std::unique_ptr<DIR, DirCloser> dir(opendir(real));
  if (!dir) {
    int e = errno;
    *message = "cannot read mountpoint " + path + ": " + std::strerror(e);
    return -e;
  }
  while (struct dirent* d = readdir(dir.get())) {
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) {
      *message = "mountpoint " + path + " is not empty (use -o nonempty to mount over it)";
      return -ENOTEMPTY;
    }
  }
  return 0;
}

int set_mount_atime(const std::string& mnt, fs::AtimeMode mode, bool nodiratime) {
  struct mount_attr attr {};
  attr.attr_clr = MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME;
  switch (mode) {
    case fs::AtimeMode::kRelatime: attr.attr_set = MOUNT_ATTR_RELATIME; break;
    case fs::AtimeMode::kStrictatime: attr.attr_set = MOUNT_ATTR_STRICTATIME; break;
    case fs::AtimeMode::kNoatime: attr.attr_set = MOUNT_ATTR_NOATIME; break;
  }
  if (nodiratime) attr.attr_set |= MOUNT_ATTR_NODIRATIME;
  return mount_setattr(AT_FDCWD, mnt.c_str(), AT_SYMLINK_NOFOLLOW, &attr, sizeof attr) == 0 ? 0 : -errno;
}

}  // namespace chainfs::daemon
