#pragma once
// Nbdkit: an nbdkit server for one test, on a Unix socket in its own temporary directory.
// The destructor stops the server and removes the directory; the server is started with
// --exit-with-parent, so it also goes when a test process dies without running destructors.
// kill() and start() again act out a server that goes away and comes back (same socket).
#include <sys/types.h>

#include <string>
#include <vector>

namespace chainfs::test {

class Nbdkit {
 public:
  // args: what follows the options on nbdkit's command line (the plugin and its parameters,
  // e.g. {"memory", "64M"} or {"file", "/path/img"}); filters: "--filter=NAME" for each
  // (their parameters go in args). Throws std::runtime_error when nbdkit cannot start.
  explicit Nbdkit(std::vector<std::string> args, std::vector<std::string> filters = {});
  ~Nbdkit();
  Nbdkit(const Nbdkit&) = delete;
  Nbdkit& operator=(const Nbdkit&) = delete;

  // nbd+unix:///?socket=PATH
  std::string uri() const { return "nbd+unix:///?socket=" + socket_; }
  const std::string& socket() const { return socket_; }
  // (Re)starts the server with the same command line; returns when it accepts connections.
  void start();
  // SIGKILL, as a crash or a power cut of the server machine; waits for it to be gone.
  void kill();
  bool running() const { return pid_ > 0; }

  // True if nbdkit is installed.
  static bool available();

 private:
  std::vector<std::string> args_, filters_;
  std::string dir_, socket_, pidfile_;
  pid_t pid_ = -1;
};

}  // namespace chainfs::test
