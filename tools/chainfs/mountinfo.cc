#include "tools/chainfs/mountinfo.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace chainfs::daemon {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += static_cast<char>(v);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool has_option(const std::string& opts, const std::string& opt) {
  return ("," + opts + ",").find("," + opt + ",") != std::string::npos;
}

std::optional<MountEntry> parse_mountinfo_line(const std::string& line) {
  // id parent major:minor root mount_point mount_opts [optional fields...] - fstype source super_opts
  std::istringstream in(line);
  std::vector<std::string> f;
  std::string w;
  while (in >> w) f.push_back(w);
  if (f.size() < 10) return std::nullopt;
  size_t sep = 6;
  while (sep < f.size() && f[sep] != "-") ++sep;
  if (sep + 2 >= f.size()) return std::nullopt;
  MountEntry e;
  e.dev = f[2];
  e.mount_point = unescape(f[4]);
  e.mount_opts = f[5];
  e.fstype = f[sep + 1];
  e.source = unescape(f[sep + 2]);
  e.super_opts = sep + 3 < f.size() ? f[sep + 3] : "";
  return e;
}

std::optional<MountEntry> find_mount(const std::string& mount_point, const std::string& mountinfo_path) {
  std::ifstream in(mountinfo_path);
  std::optional<MountEntry> found;
  std::string line;
  while (std::getline(in, line)) {
    auto e = parse_mountinfo_line(line);
    if (e && e->mount_point == mount_point) found = std::move(e);  // later lines stack on top
  }
  return found;
}

}  // namespace chainfs::daemon
