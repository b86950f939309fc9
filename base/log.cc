#include "base/log.h"

#include <atomic>
#include <cstdio>

namespace chainfs::base {

namespace {

const char* name_of(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "error";
}

void to_stderr(LogLevel level, std::string_view message) noexcept {
  std::fprintf(stderr, "chainfs: %s: %.*s\n", name_of(level), static_cast<int>(message.size()), message.data());
}

std::atomic<LogSink> g_sink{nullptr};

}  // namespace

LogSink set_log_sink(LogSink sink) noexcept { return g_sink.exchange(sink, std::memory_order_acq_rel); }

void log(LogLevel level, std::string_view message) noexcept {
  LogSink sink = g_sink.load(std::memory_order_acquire);
  (sink ? sink : to_stderr)(level, message);
}

}  // namespace chainfs::base
