#include "fs/meta/data_path.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace chainfs::fs {

io::EngineOptions engine_options(const MountOptions& opts) {
  io::EngineOptions eo;
  eo.async = opts.write_strategy != cache::WriteStrategy::kSync;
  eo.completion = opts.completion;
  eo.nbd_timeout_s = opts.nbd_timeout_s;
  return eo;
}

DataPath::DataPath(io::Device& dev, const MountOptions& opts) : engine_(dev, engine_options(opts)) {
  mem::PoolOptions po;
  po.kind = opts.page_alloc;
  po.byte_cap = opts.cache_size ? opts.cache_size : kDefaultCacheBytes;
  po.force_fallback = opts.force_compound_fallback;
  pool_ = mem::make_page_pool(po);
  cache::CacheOptions co;
  co.write = opts.write_strategy;
  co.read = opts.read_strategy;
  // No timer of the cache's own: the metadata layer's flusher writes the data back, then
  // commits the metadata that maps it (one flusher, in that order). The cache's flusher
  // still runs when the dirty threshold kicks it.
  co.flush_interval_ms = 0;
  pages_ = std::make_unique<cache::PageCache>(engine_.bio(), *pool_, co);
  if (!opts.stats_path.empty()) {
    MountOptions o = opts;
    stats_ = std::make_unique<cache::StatsWriter>(opts.stats_path, [this, o] {
      nlohmann::json j = pages_->stats_json();
      j["mount"] = {{"write_strategy", cache::to_string(o.write_strategy)},
                    {"read_strategy", cache::to_string(o.read_strategy)},
                    {"completion", engine_.completion_name()},
                    {"page_alloc", mem::to_string(o.page_alloc)},
                    {"cache_size", o.cache_size ? o.cache_size : kDefaultCacheBytes}};
      std::lock_guard g(extra_mu_);
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
  std::lock_guard g(extra_mu_);
  extra_[std::move(key)] = std::move(fn);
}

uint64_t DataPath::data_writes() const {
  const cache::CacheStats& s = pages_->stats();
  return cache::CacheStats::get(s.written_pages) + cache::CacheStats::get(s.sync_writes) +
         cache::CacheStats::get(s.write_errors);
}

}  // namespace chainfs::fs
