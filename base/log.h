#pragma once
// The logging hook of the layers that have no logger of their own (mem/, io/): they report
// through log(), and the program decides where it goes by installing a sink. Without one,
// messages go to stderr as "chainfs: <level>: <message>". The daemon installs a sink that
// writes to its log, which is syslog once it has detached from the terminal (stderr is
// /dev/null then).
#include <string_view>

namespace chainfs::base {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Must not throw; may be called from any thread, concurrently.
using LogSink = void (*)(LogLevel level, std::string_view message) noexcept;

// Installs sink for the whole process (nullptr: back to stderr). Returns the previous one.
LogSink set_log_sink(LogSink sink) noexcept;

void log(LogLevel level, std::string_view message) noexcept;

}  // namespace chainfs::base
