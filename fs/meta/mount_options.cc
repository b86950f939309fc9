#include "fs/meta/mount_options.h"

#include <cerrno>
#include <string>

namespace chainfs::fs {

const base::OptionTable<MountOptions>& mount_option_table() {
  static const base::OptionTable<MountOptions> table = [] {
    base::OptionTable<MountOptions> t;
    base::Option<MountOptions> stats;
    stats.name = "stats";
    stats.values = "PATH";
    stats.help = "write statistics as JSON to PATH";
    stats.set = [](MountOptions& m, std::string_view value, std::string* error) {
      if (value.empty()) {
        *error = "bad value in -o stats=: expected a file path";
        return -EINVAL;
      }
      m.stats_path = std::string(value);
      return 0;
    };
    t.push_back(std::move(stats));
    t.push_back(base::seconds_option("flush_interval", &MountOptions::flush_interval_s,
                                     "write dirty data at least this often (default {default})"));
    base::Option<MountOptions> fallback;
    fallback.name = "compound_fallback";
    fallback.help = "debug: compound buffers always as scatter lists\n(also CHAINFS_FORCE_COMPOUND_FALLBACK=1)";
    fallback.set = [](MountOptions& m, std::string_view value, std::string* error) {
      if (!value.empty()) {
        *error = "bad option -o compound_fallback=" + std::string(value) + ": it takes no value";
        return -EINVAL;
      }
      m.force_compound_fallback = true;
      return 0;
    };
    t.push_back(std::move(fallback));
    return t;
  }();
  return table;
}

}  // namespace chainfs::fs
