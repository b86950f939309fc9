#pragma once
// The mountpoint, before and after the mount.
#include <string>

#include "fs/meta/filesystem.h"

namespace chainfs::daemon {

// Before anything is opened: it exists, is a directory, and is empty unless nonempty is
// allowed. Returns 0 with *absolute set to its canonical path, or a negative errno with
// *message set to one line.
int check_mountpoint(const std::string& path, bool allow_nonempty, std::string* absolute, std::string* message);

// Once mounted: gives the mount at mnt the access-time attributes the daemon applies, so
// that mountinfo shows them (libfuse passes only atime/noatime to the kernel). FUSE inodes
// never have their atime updated by the kernel, whatever these say. 0 or -errno.
int set_mount_atime(const std::string& mnt, fs::AtimeMode mode, bool nodiratime);

}  // namespace chainfs::daemon
