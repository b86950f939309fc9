#include "tools/chainfs/daemonize.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace chainfs::daemon {

Daemonizer::~Daemonizer() {
  if (fd_ >= 0) close(fd_);
}

int Daemonizer::start() {
  int p[2];
  // O_CLOEXEC: a helper the child spawns (fusermount3) must not hold the parent waiting.
  if (pipe2(p, O_CLOEXEC) != 0) return -errno;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return -e;
  }
  if (pid > 0) {
    close(p[1]);
    char ok = 0;
    ssize_t n;
    do n = read(p[0], &ok, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1) _exit(0);
    int status = 0;  // the child exited without success(): pass its status on
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 32);
  }
  close(p[0]);
  fd_ = p[1];
  setsid();  // terminal signals (^C in the starting shell) no longer reach the daemon
  return 0;
}

void Daemonizer::success() {
  if (fd_ < 0) return;
  if (chdir("/") != 0) {
  }
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  char ok = 1;
  ssize_t n;
  do n = write(fd_, &ok, 1);
  while (n < 0 && errno == EINTR);
  close(fd_);
  fd_ = -1;
}

}  // namespace chainfs::daemon
