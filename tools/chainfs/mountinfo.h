#pragma once
// MountEntry: one line of /proc/self/mountinfo, found by mount point. The remount path
// and the daemon's control channel use it to learn the FUSE connection (major:minor), the
// current mount flags and the superblock's ro/rw state without touching the FUSE mount
// itself (a stat() there would ask the daemon, which may be the caller).
#include <optional>
#include <string>

namespace chainfs::daemon {

struct MountEntry {
  std::string dev;          // "0:53": the FUSE connection's device number
  std::string mount_point;  // unescaped
  std::string mount_opts;   // per-mount options: "rw,nosuid,nodev,relatime"
  std::string fstype;       // "fuse.chainfs", "fuse", ...
  std::string source;       // the fsname
  std::string super_opts;   // superblock options: "rw,user_id=0,group_id=0,default_permissions"
};

// The topmost mount at mount_point (an absolute, canonical path), from mountinfo_path.
std::optional<MountEntry> find_mount(const std::string& mount_point,
                                     const std::string& mountinfo_path = "/proc/self/mountinfo");

// Parses one mountinfo line; nullopt if malformed.
std::optional<MountEntry> parse_mountinfo_line(const std::string& line);

// True when the comma-separated list opts contains opt exactly.
bool has_option(const std::string& opts, const std::string& opt);

}  // namespace chainfs::daemon
