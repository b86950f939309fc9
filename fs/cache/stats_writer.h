#pragma once
// StatsWriter: keeps `-o stats=PATH` up to date. A thread rewrites the file every interval
// with the document `source` returns (the page cache's stats_json(), plus whatever the
// mount adds), and the destructor writes it one last time (at unmount). Each write goes to
// PATH.tmp and is renamed over PATH, so readers (chainfs-stat --watch) never see half a file.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"

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
  int write_now() EXCLUDES(mu_);
  int last_error() const EXCLUDES(mu_);
  uint64_t writes() const EXCLUDES(mu_);

 private:
  void loop() EXCLUDES(mu_);

  const std::string path_;
  Source source_;
  const uint32_t interval_ms_;
  mutable base::Mutex mu_;  // serialises writes
  base::CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  int last_error_ GUARDED_BY(mu_) = 0;
  uint64_t writes_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// Writes text to path atomically (path.tmp, fsync-free, rename); 0 or -errno.
int write_file_atomic(const std::string& path, const std::string& text);

}  // namespace chainfs::cache
