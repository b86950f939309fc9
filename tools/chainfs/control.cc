#include "tools/chainfs/control.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/chainfs/cmdline.h"
#include "tools/chainfs/mountinfo.h"
#include "tools/common/cli.h"

namespace chainfs::daemon {

namespace {

std::string path_for(const std::string& key, const char* suffix) { return run_dir() + "/" + key + suffix; }

// Writes text to path atomically (temporary file + rename), so readers never see half.
bool write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Mount flags a remount must keep unless the options change them, from the running mount.
unsigned long current_flags(const MountEntry& e) {
  unsigned long f = 0;
  const std::string& m = e.mount_opts;
  if (has_option(m, "ro")) f |= MS_RDONLY;
  if (has_option(m, "nosuid")) f |= MS_NOSUID;
  if (has_option(m, "nodev")) f |= MS_NODEV;
  if (has_option(m, "noexec")) f |= MS_NOEXEC;
  if (has_option(m, "noatime")) f |= MS_NOATIME;
  if (has_option(m, "nodiratime")) f |= MS_NODIRATIME;
  if (has_option(m, "relatime")) f |= MS_RELATIME;
  if (!has_option(m, "noatime") && !has_option(m, "relatime")) f |= MS_STRICTATIME;
  if (has_option(e.super_opts, "sync")) f |= MS_SYNCHRONOUS;
  if (has_option(e.super_opts, "dirsync")) f |= MS_DIRSYNC;
  if (has_option(e.super_opts, "lazytime")) f |= MS_LAZYTIME;
  return f;
}

void apply_flag(const std::string& o, unsigned long* f) {
  struct Flag {
    const char* name;
    unsigned long bit;
    bool on;
  };
  static const Flag kFlags[] = {
      {"ro", MS_RDONLY, true},          {"rw", MS_RDONLY, false},         {"nosuid", MS_NOSUID, true},
      {"suid", MS_NOSUID, false},       {"nodev", MS_NODEV, true},        {"dev", MS_NODEV, false},
      {"noexec", MS_NOEXEC, true},      {"exec", MS_NOEXEC, false},       {"sync", MS_SYNCHRONOUS, true},
      {"async", MS_SYNCHRONOUS, false}, {"dirsync", MS_DIRSYNC, true},    {"nodiratime", MS_NODIRATIME, true},
      {"diratime", MS_NODIRATIME, false}, {"lazytime", MS_LAZYTIME, true}, {"nolazytime", MS_LAZYTIME, false},
  };
  // The three atime modes exclude each other.
  const unsigned long atime_bits = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
  if (o == "noatime") *f = (*f & ~atime_bits) | MS_NOATIME;
  else if (o == "relatime") *f = (*f & ~atime_bits) | MS_RELATIME;
  else if (o == "strictatime") *f = (*f & ~atime_bits) | MS_STRICTATIME;
  else if (o == "atime") *f &= ~MS_NOATIME;
  else if (o == "norelatime") *f &= ~MS_RELATIME;
  else if (o == "nostrictatime") *f &= ~MS_STRICTATIME;
  for (const auto& fl : kFlags)
    if (o == fl.name) *f = fl.on ? (*f | fl.bit) : (*f & ~fl.bit);
}

bool wait_for_ack(const std::string& ack, const char* want, int* result) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = read_file(ack);
    if (!text.empty()) {
      std::istringstream in(text);
      std::string mode;
      int rc = 0;
      in >> mode >> rc;
      if (mode == want) {
        *result = rc;
        return true;
      }
    }
    usleep(20 * 1000);
  }
  return false;
}

}  // namespace

std::string run_dir() {
  const char* env = std::getenv("CHAINFS_RUN_DIR");
  return env && *env ? env : "/run/chainfs";
}

PidFile::PidFile(std::string key) : key_(std::move(key)) {
  mkdir(run_dir().c_str(), 0755);  // EEXIST is fine
  ok_ = write_file(path_for(key_, ".pid"), std::to_string(getpid()) + "\n");
  if (!ok_) spdlog::warn("cannot write {}: remount will not reach this daemon", path_for(key_, ".pid"));
}

PidFile::~PidFile() {
  unlink(path_for(key_, ".pid").c_str());
  unlink(path_for(key_, ".ack").c_str());
}

void block_control_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

RemountListener::RemountListener(fs::Filesystem* fs, std::string mount_point, std::string key)
    : fs_(fs), mount_point_(std::move(mount_point)), key_(std::move(key)) {
  thread_ = std::thread([this] { run(); });
}

RemountListener::~RemountListener() {
  stop_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

void RemountListener::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  while (!stop_) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (stop_) break;
    try {
      apply();
    } catch (const std::exception& e) {
      spdlog::error("remount: {}", e.what());
    }
  }
}

void RemountListener::apply() {
  auto e = find_mount(mount_point_);
  if (!e) {
    spdlog::warn("remount: {} no longer in mountinfo", mount_point_);
    return;
  }
  bool ro = has_option(e->super_opts, "ro");
  int rc = fs_->set_read_only(ro);
  if (rc < 0) spdlog::error("remount {}: switching to {} failed: {}", mount_point_, ro ? "ro" : "rw", std::strerror(-rc));
  else spdlog::info("remounted {} {}", mount_point_, ro ? "read-only" : "read-write");
  write_file(path_for(key_, ".ack"), std::string(ro ? "ro " : "rw ") + std::to_string(rc) + "\n");
}

int remount(const CommandLine& cl) {
  auto fail = [&](const std::string& msg) {
    cli::error_line(cl.program, msg);
    return cli::kExitMountFailure;
  };
  char real[PATH_MAX];
  if (!realpath(cl.mountpoint.c_str(), real))
    return fail("cannot remount " + cl.mountpoint + ": " + std::strerror(errno));
  auto e = find_mount(real);
  if (!e || e->fstype.rfind("fuse", 0) != 0) return fail("cannot remount " + cl.mountpoint + ": not a chainfs mount");
  std::string pid_text = read_file(path_for(e->dev, ".pid"));
  pid_t pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
  // The pid must still be a chainfs process: never signal whatever reused a stale pid.
  std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  if (pid <= 0 || kill(pid, 0) != 0 || comm.rfind("chainfs", 0) != 0)
    return fail("cannot remount " + cl.mountpoint + ": no running chainfs daemon found for it");

  unsigned long flags = current_flags(*e);
  for (const auto& o : cl.flag_opts) apply_flag(o, &flags);
  bool ro = (flags & MS_RDONLY) != 0;
  // FUSE ignores the data of an old-API remount; only the flags change.
  if (mount(e->source.c_str(), real, nullptr, MS_REMOUNT | flags, nullptr) != 0)
    return fail(std::string("cannot remount ") + cl.mountpoint + (ro ? " read-only: " : " read-write: ") +
                std::strerror(errno));
  std::string ack = path_for(e->dev, ".ack");
  unlink(ack.c_str());
  if (kill(pid, SIGUSR1) != 0) return fail("cannot signal the chainfs daemon (pid " + pid_text + ")");
  int rc = 0;
  if (!wait_for_ack(ack, ro ? "ro" : "rw", &rc))
    return fail("remount of " + cl.mountpoint + ": the chainfs daemon did not answer within 30 s");
  if (rc < 0) {
    if (!ro) mount(e->source.c_str(), real, nullptr, MS_REMOUNT | flags | MS_RDONLY, nullptr);  // stay consistent
    return fail(std::string("cannot remount ") + cl.mountpoint + (ro ? " read-only: " : " read-write: ") +
                std::strerror(-rc));
  }
  return cli::kExitOk;
}

}  // namespace chainfs::daemon
