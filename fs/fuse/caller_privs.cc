#include "fs/fuse/caller_privs.h"

#include <linux/capability.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace chainfs::fuse {

bool CallerPrivs::in_group(uint32_t g) const {
  return g == gid || std::find(groups.begin(), groups.end(), g) != groups.end();
}

namespace {
// The text after "key:" on the line that starts with it.
bool field(std::string_view text, std::string_view key, std::string_view* value) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      *value = line.substr(key.size() + 1);
      return true;
    }
    pos = end + 1;
  }
  return false;
}
}  // namespace

bool parse_proc_status(std::string_view text, CallerPrivs* p) {
  std::string_view v;
  if (field(text, "Groups", &v)) {
    p->groups.clear();
    const char* s = v.data();
    const char* e = v.data() + v.size();
    while (s < e) {
      while (s < e && (*s == ' ' || *s == '\t')) ++s;
      uint32_t g = 0;
      auto [next, ec] = std::from_chars(s, e, g);
      if (ec != std::errc() || next == s) break;
      p->groups.push_back(g);
      s = next;
    }
  }
  if (!field(text, "CapEff", &v)) return false;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  uint64_t caps = 0;
  auto [next, ec] = std::from_chars(v.data(), v.data() + v.size(), caps, 16);
  if (ec != std::errc() || next == v.data()) return false;
  p->cap_fsetid = (caps >> CAP_FSETID) & 1;
  return true;
}

CallerPrivs caller_privs(pid_t tid, uint32_t uid, uint32_t gid) {
  CallerPrivs p;
  p.gid = gid;
  if (tid > 0) {
    std::ifstream in("/proc/" + std::to_string(tid) + "/status");
    std::ostringstream text;
    if (in && (text << in.rdbuf()) && parse_proc_status(text.str(), &p)) return p;
  }
  p.groups.clear();
  p.cap_fsetid = uid == 0;
  return p;
}

uint32_t privs_to_drop(uint32_t mode, uint32_t file_gid, const CallerPrivs& caller) {
  if (!S_ISREG(mode) || caller.cap_fsetid) return 0;
  uint32_t drop = mode & S_ISUID;
  if ((mode & S_ISGID) && ((mode & S_IXGRP) || !caller.in_group(file_gid))) drop |= S_ISGID;
  return drop;
}

}  // namespace chainfs::fuse
