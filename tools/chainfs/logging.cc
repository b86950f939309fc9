#include "tools/chainfs/logging.h"

#include <fuse_log.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <cstdarg>
#include <cstdio>
#include <string>

#include "base/log.h"

namespace chainfs::daemon {

namespace {

// fmt is libfuse's printf format (the attribute tells clang's -Wformat-nonliteral so).
__attribute__((format(printf, 2, 0))) void from_libfuse(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  try {
    if (level <= FUSE_LOG_ERR) spdlog::error("{}", msg);
    else if (level <= FUSE_LOG_NOTICE) spdlog::info("{}", msg);
    else spdlog::debug("{}", msg);
  } catch (...) {
  }
}

// What mem/ and io/ report through base::log().
void from_layers(base::LogLevel level, std::string_view msg) noexcept {
  try {
    switch (level) {
      case base::LogLevel::kDebug: spdlog::debug("{}", msg); break;
      case base::LogLevel::kInfo: spdlog::info("{}", msg); break;
      case base::LogLevel::kWarning: spdlog::warn("{}", msg); break;
      case base::LogLevel::kError: spdlog::error("{}", msg); break;
    }
  } catch (...) {
  }
}

void install(std::shared_ptr<spdlog::logger> logger, bool debug) {
  logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  fuse_set_log_func(from_libfuse);
  base::set_log_sink(from_layers);
}

}  // namespace

void log_to_stderr(const std::string& program, bool debug) {
  auto logger = std::make_shared<spdlog::logger>(program, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%n: %^%l%$: %v");
  install(std::move(logger), debug);
}

void log_to_syslog(const std::string& program, bool debug) {
  auto sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(program, LOG_PID, LOG_DAEMON, true);
  auto logger = std::make_shared<spdlog::logger>(program, std::move(sink));
  logger->set_pattern("%v");
  install(std::move(logger), debug);
}

}  // namespace chainfs::daemon
