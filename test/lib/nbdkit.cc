#include "test/lib/nbdkit.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace chainfs::test {

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

bool Nbdkit::available() { return system("command -v nbdkit >/dev/null 2>&1") == 0; }

Nbdkit::Nbdkit(std::vector<std::string> args, std::vector<std::string> filters)
    : args_(std::move(args)), filters_(std::move(filters)) {
  char tmpl[] = "/tmp/chainfs-nbd-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_ = dir_ + "/sock";
  pidfile_ = dir_ + "/pid";
  start();
}

Nbdkit::~Nbdkit() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  unlink(socket_.c_str());
  unlink(pidfile_.c_str());
  rmdir(dir_.c_str());
}

void Nbdkit::start() {
  if (pid_ > 0) return;
  unlink(socket_.c_str());
  unlink(pidfile_.c_str());
  // nbdkit writes the PID file once it accepts connections.
  std::vector<std::string> argv{"nbdkit", "-f", "--exit-with-parent", "-U", socket_, "-P", pidfile_};
  for (const auto& f : filters_) argv.push_back("--filter=" + f);
  argv.insert(argv.end(), args_.begin(), args_.end());
  std::vector<char*> c;
  for (auto& a : argv) c.push_back(a.data());
  c.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) dup2(null, 0);
    execvp(c[0], c.data());
    _exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!exists(pidfile_)) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("nbdkit exited at start-up (status " + std::to_string(st) + ")");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill();
      throw std::runtime_error("nbdkit did not start listening within 20 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Nbdkit::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  pid_ = -1;
  unlink(socket_.c_str());
  unlink(pidfile_.c_str());
}

}  // namespace chainfs::test
