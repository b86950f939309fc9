#include "test/lib/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace chainfs::test {

namespace {

// An unlinked temporary file that collects one output stream of the child.
class Capture {
 public:
  Capture() {
    char name[] = "/tmp/chainfs-test-out-XXXXXX";
    fd_ = mkstemp(name);
    if (fd_ >= 0) unlink(name);
  }
  ~Capture() {
    if (fd_ >= 0) close(fd_);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  int fd() const { return fd_; }
  std::string text() const {
    std::string s;
    if (fd_ < 0) return s;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = pread(fd_, buf, sizeof buf, off)) > 0) {
      s.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return s;
  }

 private:
  int fd_ = -1;
};

RunResult run_impl(bool drop, unsigned uid, unsigned gid, const std::vector<std::string>& argv, int timeout_s) {
  RunResult r;
  if (argv.empty()) return r;
  Capture out, err;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return r;
  if (pid == 0) {
    // Own process group, so a timeout kills whatever the program started too.
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(out.fd(), 1);
    dup2(err.fd(), 2);
    if (drop) {
      if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) _exit(126);
    }
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return r;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = out.text();
  r.err = err.text();
  return r;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, int timeout_s) { return run_impl(false, 0, 0, argv, timeout_s); }

RunResult run_as(unsigned uid, unsigned gid, const std::vector<std::string>& argv, int timeout_s) {
  return run_impl(true, uid, gid, argv, timeout_s);
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

}  // namespace chainfs::test
