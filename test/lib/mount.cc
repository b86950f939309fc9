#include "test/lib/mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "test/lib/subprocess.h"

namespace chainfs::test {

namespace {

std::string canonical(const std::string& p) {
  char real[PATH_MAX];
  return realpath(p.c_str(), real) ? std::string(real) : p;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Whole small file (procfs reports size 0, so read until EOF).
std::string slurp(const std::string& path) {
  std::string s;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  close(fd);
  return s;
}

bool alive(pid_t pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  if (!st) return false;
  std::string line;
  std::getline(st, line);
  auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() && line[close_paren + 2] != 'Z';
}

}  // namespace

std::vector<std::string> mount_info(const std::string& path) {
  std::string want = canonical(path);
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::vector<std::string> found;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    std::string w;
    while (ls >> w) f.push_back(w);
    if (f.size() < 10 || unescape(f[4]) != want) continue;
    size_t sep = 6;
    while (sep < f.size() && f[sep] != "-") ++sep;
    if (sep + 2 >= f.size()) continue;
    found = {unescape(f[sep + 2]), f[sep + 1], f[5]};
  }
  return found;
}

bool is_mounted(const std::string& path) { return !mount_info(path).empty(); }

std::vector<pid_t> daemons_for(const std::string& mountpoint) {
  std::string a = mountpoint, b = canonical(mountpoint);
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  if (!d) return pids;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    std::string all = slurp(std::string("/proc/") + e->d_name + "/cmdline");
    std::vector<std::string> argv;
    std::string cur;
    for (char c : all) {
      if (c == '\0') {
        argv.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (argv.empty()) continue;
    std::string prog = argv[0].substr(argv[0].rfind('/') == std::string::npos ? 0 : argv[0].rfind('/') + 1);
    if (prog != "chainfs") continue;
    for (size_t i = 1; i < argv.size(); ++i)
      if (argv[i] == a || argv[i] == b) {
        if (alive(static_cast<pid_t>(pid))) pids.push_back(static_cast<pid_t>(pid));
        break;
      }
  }
  closedir(d);
  return pids;
}

Mount::Mount(const std::string& daemon, const std::string& dev, const std::string& mnt, const std::string& opts)
    : mnt_(canonical(mnt)) {
  std::vector<std::string> argv{daemon, dev, mnt_};
  if (!opts.empty()) {
    argv.push_back("-o");
    argv.push_back(opts);
  }
  auto r = run(argv, 60);
  active_ = is_mounted(mnt_);
  if (r.status != 0 || !active_)
    throw std::runtime_error(join(argv) + " failed (status " + std::to_string(r.status) + "): " + r.err);
}

Mount::Mount(Adopt, const std::string& mnt) : mnt_(canonical(mnt)), active_(true) {}

Mount::~Mount() {
  try {
    unmount();
  } catch (...) {
  }
}

bool Mount::unmount(int wait_s) {
  if (!active_) return true;
  active_ = false;
  auto pids = daemons_for(mnt_);
  for (int attempt = 0; is_mounted(mnt_); ++attempt) {
    if (umount2(mnt_.c_str(), 0) == 0) break;
    if (errno != EBUSY || attempt >= 50) {
      umount2(mnt_.c_str(), MNT_DETACH);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The daemon flushes and closes the device after the kernel let go of the mount.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  bool clean = true;
  for (pid_t pid : pids) {
    while (alive(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (alive(pid)) {
      clean = false;
      kill(pid, SIGKILL);
      while (alive(pid)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return clean;
}

}  // namespace chainfs::test
