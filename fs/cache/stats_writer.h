#pragma once
// StatsWriter: keeps `-o stats=PATH` up to date. A thread rewrites the file every interval
// with the document `source` returns (the page cache's stats_json(), plus whatever the
// mount adds), and the destructor writes it one last time (at unmount). Each write goes to
// PATH.tmp and is renamed over PATH, so readers (chainfs-stat --watch) never see half a file.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace chainfs::cache {

class StatsWriter {
 public:
  using Source = std::function<nlohmann::json()>;
  // Writes once at once, then every interval_ms (0: only write_now() and the final write).
  StatsWriter(std::string path, Source source, uint32_t interval_ms = 1000);
  ~StatsWriter();
  StatsWriter(const StatsWriter&) = delete;
  StatsWriter& operator=(const StatsWriter&) = delete;

  // Writes the file now; 0 or -errno (the first error is also kept in last_error()).
  int write_now();
  int last_error() const;
  uint64_t writes() const;

 private:
  void loop();

  const std::string path_;
  Source source_;
  const uint32_t interval_ms_;
  mutable std::mutex mu_;      // serialises writes; guards the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  int last_error_ = 0;
  uint64_t writes_ = 0;
  std::thread thread_;
};

// Writes text to path atomically (path.tmp, fsync-free, rename); 0 or -errno.
int write_file_atomic(const std::string& path, const std::string& text);

}  // namespace chainfs::cache
