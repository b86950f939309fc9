// UringTransport without a FUSE connection: rings and buffers are set up before the INIT
// reply (prepare), and a refused registration, which on a real connection would leave
// the kernel holding every request, aborts the connection and ends the session instead
// of hanging. The descriptors are not /dev/fuse: a pipe, which has no ring commands (the
// kernel refuses them), and /dev/null, which completes them without filling the entry.
#include "fs/fuse/uring_transport.h"

#include <doctest/doctest.h>
#include <fuse_lowlevel.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "fs/fuse/context.h"

using namespace chainfs::fuse;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// One UringTransport over dev, whose registration cannot succeed.
void expect_abort(int dev) {
  char tmpl[] = "/tmp/chainfs-uring-abort-XXXXXX";
  int afd = mkstemp(tmpl);
  REQUIRE(afd >= 0);
  close(afd);
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof ops);
  char arg0[] = "uring_transport_test";
  char* argv[] = {arg0, nullptr};
  fuse_args args = FUSE_ARGS_INIT(1, argv);
  Context ctx;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, &ctx);
  fuse_opt_free_args(&args);  // the session keeps its own copy
  REQUIRE(se != nullptr);
  Transport t(TransportWants{});
  ctx.transport = &t;
  {
    UringTransport::Config cfg;
    cfg.abort_path = tmpl;
    UringTransport u(se, &t, dev, cfg);
    InitResult init;
    init.max_write = 1u << 20;
    init.max_pages = 256;
    REQUIRE(u.prepare(init));  // rings and buffers exist before the reply would go out
    CHECK(u.queues() == UringTransport::possible_cpus());
    CHECK(u.threads() == u.queues() * cfg.threads_per_queue);
    CHECK_FALSE(fuse_session_exited(se));
    u.start();
    bool aborted = false;
    for (int i = 0; i < 500 && !(aborted = slurp(tmpl) == "1"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(aborted);
    CHECK(fuse_session_exited(se));
    u.stop();  // joins: no thread is left waiting
  }
  fuse_session_destroy(se);
  unlink(tmpl);
}

}  // namespace

TEST_CASE("a refused registration aborts the connection and ends the session") {
  int pfd[2];
  REQUIRE(pipe2(pfd, O_CLOEXEC) == 0);
  expect_abort(pfd[0]);
  close(pfd[0]);
  close(pfd[1]);
}

TEST_CASE("a completion without a request in the entry aborts the connection too") {
  int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(dev >= 0);
  expect_abort(dev);
  close(dev);
}

TEST_CASE("possible_cpus counts the queues the kernel expects") {
  unsigned n = UringTransport::possible_cpus();
  CHECK(n >= 1);
  CHECK(n >= static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
}

