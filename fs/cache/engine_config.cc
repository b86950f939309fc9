#include "fs/cache/engine_config.h"

namespace chainfs::cache {

const base::OptionTable<EngineConfig>& engine_config_table() {
  static const base::OptionTable<EngineConfig> table = [] {
    base::OptionTable<EngineConfig> t = base::lift(&EngineConfig::cache, cache_option_table());
    base::append_table(&t, base::lift(&EngineConfig::io, io::engine_option_table()));
    base::append_table(&t, base::lift(&EngineConfig::pool, mem::pool_option_table()));
    base::Option<EngineConfig> size;
    size.name = "cache_size";
    size.values = "SIZE";
    size.help = "page cache size, e.g. 512M (default: engine's choice)";
    size.set = [](EngineConfig& c, std::string_view value, std::string* error) {
      auto v = base::parse_size(value);
      if (!v || *v == 0) {
        *error = base::bad_value("cache_size", value, "a size such as 256M or 2G");
        return -EINVAL;
      }
      c.pool.byte_cap = *v;
      return 0;
    };
    size.number = [](const EngineConfig& c) { return static_cast<uint64_t>(c.pool.byte_cap); };
    size.echo = true;
    t.push_back(std::move(size));
    return t;
  }();
  return table;
}

}  // namespace chainfs::cache
