#pragma once
// What a data change by a request's caller does to set-user-ID and set-group-ID, as the
// kernel's rule for writes, truncates and fallocate on a local filesystem: set-user-ID always
// goes; set-group-ID goes when group-execute is set (it then means "setgid", not mandatory
// locking) or when the caller is not in the file's group; a caller with CAP_FSETID keeps both.
// The FUSE request carries only the caller's fsuid, fsgid and thread id, so its capabilities
// and supplementary groups are read from /proc/<tid>/status.
#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace chainfs::fuse {

struct CallerPrivs {
  uint32_t gid = 0;          // fsgid
  bool cap_fsetid = false;   // CAP_FSETID in the effective set
  std::vector<uint32_t> groups;  // supplementary groups
  bool in_group(uint32_t g) const;
};

// Parses a /proc/<pid>/status text ("Groups:" and "CapEff:" lines) into *p. False when the
// CapEff line is missing.
bool parse_proc_status(std::string_view text, CallerPrivs* p);

// The caller of a request; when /proc/<tid>/status cannot be read (the thread exited), uid 0
// counts as privileged and anyone else as not.
CallerPrivs caller_privs(pid_t tid, uint32_t uid, uint32_t gid);

// The bits of S_ISUID | S_ISGID that a data change by caller removes from a regular file of
// this mode and group (0 when none).
uint32_t privs_to_drop(uint32_t mode, uint32_t file_gid, const CallerPrivs& caller);

}  // namespace chainfs::fuse
