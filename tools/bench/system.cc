#include "tools/bench/system.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace chainfs::bench {

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (const std::string& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

// fork + exec in a new process group with stdin from /dev/null and stdout/stderr to out_fd.
pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args = c_argv(argv);
  pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);  // Ctrl-C on the terminal reaches the bench only; it stops the children in order
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  int in = ::open("/dev/null", O_RDONLY);
  if (in >= 0) dup2(in, 0);
  if (out_fd >= 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
  }
  execvp(args[0], args.data());
  _exit(127);
}

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }

CommandResult run_command(const std::vector<std::string>& argv, int timeout_s) {
  CommandResult res;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return res;
  pid_t pid = spawn(argv, p[1]);
  ::close(p[1]);
  if (pid < 0) {
    ::close(p[0]);
    return res;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  for (;;) {
    struct pollfd pf{p[0], POLLIN, 0};
    int n = poll(&pf, 1, 200);
    if (n > 0) {
      ssize_t got = ::read(p[0], buf, sizeof buf);
      if (got > 0) {
        res.out.append(buf, size_t(got));
        continue;
      }
      if (got == 0) break;
      if (errno != EINTR) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      break;
    }
  }
  ::close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  res.status = decode_status(st);
  return res;
}

std::string find_program(const std::string& name, const std::vector<std::string>& candidates) {
  for (const std::string& c : candidates)
    if (!c.empty() && access(c.c_str(), X_OK) == 0) return c;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::istringstream in(dirs);
  std::string d;
  while (std::getline(in, d, ':')) {
    if (d.empty()) continue;
    std::string p = d + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

namespace {

// A new sparse image file of `bytes`; 0 or -errno (*why says what). On failure *path is
// cleared when nothing was created.
int create_image(std::string* path, uint64_t bytes, std::string* why) {
  int fd = ::open(path->c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    *why = fmt::format("cannot create {}: {}", *path, std::strerror(e));
    path->clear();
    return -e;
  }
  int r = ftruncate(fd, off_t(bytes));
  int e = errno;
  ::close(fd);
  if (r != 0) {
    *why = fmt::format("cannot size {}: {}", *path, std::strerror(e));
    return -e;
  }
  return 0;
}

}  // namespace

int LoopImage::create(const std::string& dir, uint64_t bytes, std::string* why) {
  image_ = fmt::format("{}/chainfs-bench-{}.img", dir, getpid());
  if (int r = create_image(&image_, bytes, why); r < 0) return r;
  CommandResult lo = run_command({"losetup", "-f", "--show", "--direct-io=on", image_}, 60);
  if (lo.status != 0) {
    *why = fmt::format("losetup failed ({}): {}", lo.status, lo.out);
    return -ENODEV;
  }
  dev_ = lo.out;
  while (!dev_.empty() && (dev_.back() == '\n' || dev_.back() == ' ')) dev_.pop_back();
  if (dev_.rfind("/dev/", 0) != 0) {
    *why = "losetup printed no device: " + dev_;
    dev_.clear();
    return -ENODEV;
  }
  return 0;
}

LoopImage::~LoopImage() {
  if (!dev_.empty()) {
    // A device still held (a daemon exiting) is busy for a moment: retry before giving up.
    for (int i = 0; i < 20; ++i) {
      if (run_command({"losetup", "-d", dev_}, 30).status == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  if (!image_.empty()) ::unlink(image_.c_str());
}

int NbdServer::start(const std::string& dir, uint64_t bytes, const std::string& log_path, std::string* why) {
  image_ = fmt::format("{}/chainfs-bench-{}-nbd.img", dir, getpid());
  if (int r = create_image(&image_, bytes, why); r < 0) return r;
  std::string tmpl = fmt::format("/tmp/chainfs-bench-nbd-{}-XXXXXX", getpid());
  if (!mkdtemp(tmpl.data())) {
    *why = fmt::format("mkdtemp: {}", std::strerror(errno));
    return -errno;
  }
  dir_ = tmpl;
  std::string pidfile = dir_ + "/pid";
  std::string nbdkit = find_program("nbdkit", {});
  if (nbdkit.empty()) {
    *why = "nbdkit is not installed (Debian package nbdkit)";
    return -ENOENT;
  }
  // nbdkit writes the PID file once it accepts connections.
  if (int r = child_.start({nbdkit, "-f", "--exit-with-parent", "-U", dir_ + "/sock", "-P", pidfile, "file", image_, "cache=none"},
                           log_path);
      r < 0) {
    *why = fmt::format("cannot start nbdkit: {}", std::strerror(-r));
    return r;
  }
  for (int i = 0; i < 1000 && access(pidfile.c_str(), F_OK) != 0; ++i) {
    if (!child_.alive()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (access(pidfile.c_str(), F_OK) != 0) {
    *why = "nbdkit did not start (see " + log_path + ")";
    return -EIO;
  }
  return 0;
}

NbdServer::~NbdServer() {
  child_.stop(0);
  if (!dir_.empty()) {
    ::unlink((dir_ + "/pid").c_str());
    ::unlink((dir_ + "/sock").c_str());
    ::rmdir(dir_.c_str());
  }
  if (!image_.empty()) ::unlink(image_.c_str());
}

int Child::start(const std::vector<std::string>& argv, const std::string& log_path) {
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = spawn(argv, fd);
  int e = errno;
  if (fd >= 0) ::close(fd);
  status_ = -1;
  return pid_ < 0 ? -e : 0;
}

bool Child::alive() {
  if (pid_ < 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(st);
    pid_ = -1;
    return false;
  }
  return true;
}

int Child::stop(int wait_s) {
  if (pid_ < 0) return status_;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  bool termed = false;
  for (;;) {
    if (!alive()) return status_;
    auto now = std::chrono::steady_clock::now();
    if (now > until) {
      if (termed) break;
      kill(pid_, SIGTERM);
      termed = true;
      until = now + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  status_ = decode_status(st);
  pid_ = -1;
  return status_;
}

bool is_mounted(const std::string& path) {
  char real[PATH_MAX];
  std::string want = realpath(path.c_str(), real) ? std::string(real) : path;
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string id, parent, devno, root, mnt;
    if (in >> id >> parent >> devno >> root >> mnt && mnt == want) return true;
  }
  return false;
}

int Mounted::mount_kernel(const std::string& type, const std::string& dev, const std::string& mnt,
                          const std::string& opts, std::string* why) {
  std::vector<std::string> argv{"mount", "-t", type};
  if (!opts.empty()) argv.insert(argv.end(), {"-o", opts});
  argv.insert(argv.end(), {dev, mnt});
  CommandResult r = run_command(argv, 120);
  if (r.status != 0) {
    *why = fmt::format("mount -t {} failed ({}): {}", type, r.status, r.out);
    return -1;
  }
  mnt_ = mnt;
  active_ = true;
  return 0;
}

int Mounted::mount_daemon(const std::vector<std::string>& argv, const std::string& mnt, const std::string& log_path,
                          std::string* why) {
  if (daemon_.start(argv, log_path) < 0) {
    *why = "cannot start " + argv[0];
    return -1;
  }
  mnt_ = mnt;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (is_mounted(mnt)) {
      active_ = true;
      return 0;
    }
    if (!daemon_.alive()) {
      *why = fmt::format("{} exited before mounting: {}", argv[0], tail_file(log_path));
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *why = fmt::format("{} did not mount within 20 s: {}", argv[0], tail_file(log_path));
  daemon_.stop(0);
  return -1;
}

int Mounted::unmount() {
  int rc = 0;
  if (active_) {
    bool done = false;
    for (int i = 0; i < 40 && !done; ++i) {
      done = ::umount2(mnt_.c_str(), 0) == 0 || errno == EINVAL || errno == ENOENT;
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!done) {
      ::umount2(mnt_.c_str(), MNT_DETACH);
      rc = -1;
    }
    active_ = false;
  }
  if (daemon_.pid() > 0) {
    // The daemon writes its data back and exits once the kernel has sent DESTROY.
    int st = daemon_.stop(60);
    if (st != 0) rc = -1;
  }
  return rc;
}

int TempDir::create(const std::string& tmpl_prefix) {
  std::string t = fmt::format("{}{}-XXXXXX", tmpl_prefix, getpid());
  std::vector<char> buf(t.begin(), t.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return -errno;
  path_ = buf.data();
  return 0;
}

TempDir::~TempDir() {
  if (!path_.empty()) ::rmdir(path_.c_str());
}

int drop_caches() {
  ::sync();
  int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = ::write(fd, "3\n", 2) == 2 ? 0 : -errno;
  ::close(fd);
  return r;
}

std::string tail_file(const std::string& path, size_t max_lines) {
  std::ifstream f(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : " | ") + l;
  return out.empty() ? "(no output)" : out;
}

}  // namespace chainfs::bench
