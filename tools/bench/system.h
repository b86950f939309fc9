#pragma once
// The pieces of the machine a bench run borrows, each undone by its destructor so that a
// failed cell, an exception or Ctrl-C (see stop_requested) never leaves a loop device, a
// mount, a daemon or an image file behind.
#include <sys/types.h>

#include <string>
#include <vector>

namespace chainfs::bench {

// SIGINT/SIGTERM/SIGHUP set a flag instead of killing the bench, so cleanup runs.
void install_stop_handlers();
bool stop_requested();
// Thrown by workloads when stop_requested(); main catches it after the unwinding.
struct Interrupted {};
inline void check_stop() {
  if (stop_requested()) throw Interrupted{};
}

struct CommandResult {
  int status = -1;  // exit status; 128+N for signal N; -1 when it could not start
  std::string out;  // stdout and stderr, merged
};
// Runs argv (searched in PATH) in its own process group, stdin /dev/null; kills it after timeout_s.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_s = 300);

// An executable: an explicit path, else the first of candidates that exists, else a PATH search.
std::string find_program(const std::string& name, const std::vector<std::string>& candidates);

// A sparse image file attached to a loop device with direct I/O; both removed at destruction.
class LoopImage {
 public:
  LoopImage() = default;
  ~LoopImage();
  LoopImage(const LoopImage&) = delete;
  LoopImage& operator=(const LoopImage&) = delete;
  // Creates DIR/chainfs-bench-PID.img of `bytes` and attaches it; 0 or -errno (*why says what).
  int create(const std::string& dir, uint64_t bytes, std::string* why);
  const std::string& device() const { return dev_; }
  const std::string& image() const { return image_; }

 private:
  std::string image_, dev_;
};

// A child process (a FUSE daemon in the foreground), in its own process group.
class Child {
 public:
  Child() = default;
  ~Child() { stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Starts argv with stdout+stderr appended to log_path; 0 or -errno.
  int start(const std::vector<std::string>& argv, const std::string& log_path);
  pid_t pid() const { return pid_; }
  bool alive();
  // Waits up to wait_s for it to exit by itself, then SIGTERM, then SIGKILL; returns its status.
  int stop(int wait_s = 30);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// An image file served by nbdkit's file plugin on a Unix socket in a temporary directory;
// the destructor stops the server and removes the image (--exit-with-parent: nbdkit also
// goes when the bench dies).
class NbdServer {
 public:
  NbdServer() = default;
  ~NbdServer();
  NbdServer(const NbdServer&) = delete;
  NbdServer& operator=(const NbdServer&) = delete;
  // Creates DIR/chainfs-bench-PID-nbd.img of `bytes` and serves it; 0 or -errno (*why).
  int start(const std::string& dir, uint64_t bytes, const std::string& log_path, std::string* why);
  std::string uri() const { return "nbd+unix:///?socket=" + dir_ + "/sock"; }
  const std::string& image() const { return image_; }
  pid_t pid() const { return child_.pid(); }

 private:
  std::string image_, dir_;
  Child child_;
};

// True when path is a mount point (/proc/self/mountinfo).
bool is_mounted(const std::string& path);

// A mounted filesystem: unmounts at destruction (retries while busy, lazily as a last
// resort) and then stops its daemon, if any.
class Mounted {
 public:
  Mounted() = default;
  ~Mounted() { unmount(); }
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;
  // Kernel mount: runs "mount -t TYPE [-o OPTS] DEV MNT". 0 or -1 with *why.
  int mount_kernel(const std::string& type, const std::string& dev, const std::string& mnt,
                   const std::string& opts, std::string* why);
  // FUSE daemon in the foreground: starts argv and waits until mnt is mounted.
  int mount_daemon(const std::vector<std::string>& argv, const std::string& mnt, const std::string& log_path,
                   std::string* why);
  // 0 when unmounted cleanly (and the daemon exited by itself).
  int unmount();
  pid_t daemon_pid() const { return daemon_.pid(); }
  bool active() const { return active_; }

 private:
  std::string mnt_;
  bool active_ = false;
  Child daemon_;
};

// A directory made by the bench (mountpoint), PREFIX + "PID-XXXXXX", removed at destruction
// when empty. The PID lets test/lib/cleanup.sh tell what a killed bench left behind from what
// a running one uses (as LoopImage's and NbdServer's names do).
class TempDir {
 public:
  TempDir() = default;
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  int create(const std::string& tmpl_prefix);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// sync, then "echo 3 > /proc/sys/vm/drop_caches"; 0 or -errno.
int drop_caches();

// The last lines of a file, for error messages.
std::string tail_file(const std::string& path, size_t max_lines = 5);

}  // namespace chainfs::bench
