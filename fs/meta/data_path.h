#pragma once
// DataPath: what file data goes through, built at mount from MountOptions (see
// fs/cache/INTEGRATION.md): the I/O engine over the volume's device (io/engine.h), the page
// pool, the page cache over the engine, and the statistics file.
//
// Destruction order (members in reverse): the statistics file's final write, the cache
// (writes back whatever is still dirty), the pool, then the engine; the device outlives all.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/cache/engine_config.h"
#include "fs/cache/page_cache.h"
#include "fs/cache/stats_writer.h"
#include "fs/meta/filesystem.h"
#include "io/device.h"
#include "io/engine.h"
#include "mem/page_pool.h"

namespace chainfs::fs {

// The data engine's settings of a mount (the defaults when it gives none).
const cache::EngineConfig& engine_config(const MountOptions& opts);

class DataPath {
 public:
  DataPath(io::Device& dev, const MountOptions& opts);
  ~DataPath();
  DataPath(const DataPath&) = delete;
  DataPath& operator=(const DataPath&) = delete;

  cache::PageCache& pages() { return *pages_; }
  io::BioDevice& bio_device() { return engine_.bio(); }
  // Pages written to the device so far (writeback completions and write-through writes):
  // the write-back uses it to skip the ordering flush when no data reached the device.
  uint64_t data_writes() const;
  // Adds a section to the statistics JSON (the metadata layer's journal, say); fn may be
  // called from the statistics thread until the DataPath is gone.
  void add_stats(std::string key, std::function<nlohmann::json()> fn) EXCLUDES(extra_mu_);

 private:
  io::Engine engine_;
  std::unique_ptr<mem::PagePool> pool_;
  std::unique_ptr<cache::PageCache> pages_;
  base::Mutex extra_mu_;
  std::map<std::string, std::function<nlohmann::json()>> extra_ GUARDED_BY(extra_mu_);
  std::unique_ptr<cache::StatsWriter> stats_;
};

}  // namespace chainfs::fs
