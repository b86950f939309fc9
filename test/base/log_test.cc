#include "base/log.h"

#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using chainfs::base::LogLevel;

namespace {

std::mutex g_mu;
std::vector<std::pair<LogLevel, std::string>> g_seen;

void capture(LogLevel level, std::string_view msg) noexcept {
  std::lock_guard l(g_mu);
  g_seen.emplace_back(level, std::string(msg));
}

}  // namespace

TEST_CASE("log() reaches the installed sink from every thread, and the previous sink comes back") {
  g_seen.clear();
  auto before = chainfs::base::set_log_sink(capture);
  chainfs::base::log(LogLevel::kWarning, "arena");
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) ts.emplace_back([i] { chainfs::base::log(LogLevel::kError, "t" + std::to_string(i)); });
  for (auto& t : ts) t.join();
  bool got_capture_back = chainfs::base::set_log_sink(before) == capture;
  CHECK(got_capture_back);
  chainfs::base::log(LogLevel::kInfo, "to the previous sink, not captured");
  REQUIRE(g_seen.size() == 5);
  CHECK(g_seen[0] == std::pair<LogLevel, std::string>{LogLevel::kWarning, "arena"});
  int errors = 0;
  for (auto& [level, msg] : g_seen) errors += level == LogLevel::kError && msg.size() == 2 && msg[0] == 't';
  CHECK(errors == 4);
}
