#include "fs/meta/data_path.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace chainfs::fs {

const cache::EngineConfig& engine_config(const MountOptions& opts) {
  static const cache::EngineConfig defaults;
  return opts.engine ? *opts.engine : defaults;
}

DataPath::DataPath(io::Device& dev, const MountOptions& opts)
    : engine_(dev, engine_config(opts).io_options()) {
  const cache::EngineConfig& cfg = engine_config(opts);
  mem::PoolOptions po = cfg.pool;
  po.force_fallback = opts.force_compound_fallback;
  pool_ = mem::make_page_pool(po);
  cache::CacheOptions co = cfg.cache;
  // No timer of the cache's own: the metadata layer's flusher writes the data back, then
  // commits the metadata that maps it (one flusher, in that order). The cache's flusher
  // still runs when the dirty threshold kicks it.
  co.flush_interval_ms = 0;
  pages_ = std::make_unique<cache::PageCache>(engine_.bio(), *pool_, co);
  if (!opts.stats_path.empty()) {
    nlohmann::json mount = nlohmann::json::object();
    base::for_each_echo(cache::engine_config_table(), cfg, [&mount](const std::string& key, const auto& v) { mount[key] = v; });
    mount["completion"] = engine_.completion_name();
    stats_ = std::make_unique<cache::StatsWriter>(opts.stats_path, [this, mount] {
      nlohmann::json j = pages_->stats_json();
      j["mount"] = mount;
      base::MutexLock g(extra_mu_);
      for (auto& [key, fn] : extra_) j[key] = fn();
      return j;
    });
    if (int e = stats_->last_error())
      spdlog::warn("chainfs: cannot write statistics to {}: {}", opts.stats_path, std::strerror(-e));
  }
}

DataPath::~DataPath() {
  stats_.reset();
  pages_.reset();
  pool_.reset();
}

void DataPath::add_stats(std::string key, std::function<nlohmann::json()> fn) {
  base::MutexLock g(extra_mu_);
  extra_[std::move(key)] = std::move(fn);
}

uint64_t DataPath::data_writes() const {
  const cache::CacheStats& s = pages_->stats();
  return cache::CacheStats::get(s.written_pages) + cache::CacheStats::get(s.sync_writes) +
         cache::CacheStats::get(s.write_errors);
}

}  // namespace chainfs::fs
