#pragma once
// EngineConfig: the settings of the whole data engine as one type -- the page cache's
// (cache_options.h), the page pool's (mem/pool_options.h) and the I/O engine's
// (io/engine_options.h) -- and its option table: write_strategy=, read_strategy= and
// cache_size= declared here, with the pool's and the I/O engine's tables lifted in. The
// layers above carry it whole (fs/meta/filesystem.h holds it opaquely).
#include <cstdint>

#include "base/option_table.h"
#include "fs/cache/cache_options.h"
#include "io/engine_options.h"
#include "mem/pool_options.h"

namespace chainfs::cache {

inline constexpr uint64_t kDefaultCacheBytes = uint64_t{256} << 20;

struct EngineConfig {
  EngineConfig() { pool.byte_cap = kDefaultCacheBytes; }

  CacheOptions cache;
  mem::PoolOptions pool;  // byte_cap: cache_size=
  io::EngineOptions io;   // io.async follows cache.write: see io_options()

  // The I/O engine's settings: write_strategy=sync runs over a synchronous device.
  io::EngineOptions io_options() const {
    io::EngineOptions o = io;
    o.async = cache.write != WriteStrategy::kSync;
    return o;
  }
};

// Every engine option, in --help order.
const base::OptionTable<EngineConfig>& engine_config_table();

}  // namespace chainfs::cache
