#pragma once
// Logging of the daemon (spdlog): stderr while in the foreground or still starting,
// syslog once daemonized; -d turns on debug messages. libfuse's own messages are routed
// through the same logger (fuse_set_log_func), and so are the messages of mem/ and io/
// (base::set_log_sink), which would otherwise go to stderr, /dev/null once daemonized.
#include <string>

namespace chainfs::daemon {

void log_to_stderr(const std::string& program, bool debug);
void log_to_syslog(const std::string& program, bool debug);

}  // namespace chainfs::daemon
