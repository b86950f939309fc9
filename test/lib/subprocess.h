#pragma once
// run(): starts a program (no shell), waits for it and returns its exit status and
// output. Tests use it to drive mkfs.chainfs, the daemon, mount(8) and umount(8).
#include <string>
#include <vector>

namespace chainfs::test {

struct RunResult {
  int status = -1;  // exit status; 128+N when killed by signal N; -1 if it could not start
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv[0] (searched in PATH) with argv, stdin from /dev/null; kills it after
// timeout_s seconds (status then 128+SIGKILL).
RunResult run(const std::vector<std::string>& argv, int timeout_s = 120);

// Same, in a child that first drops to uid/gid (setresgid/setresuid, no supplementary
// groups): for permission tests as a non-root user.
RunResult run_as(unsigned uid, unsigned gid, const std::vector<std::string>& argv, int timeout_s = 60);

// "a b c" for messages.
std::string join(const std::vector<std::string>& argv);

}  // namespace chainfs::test
