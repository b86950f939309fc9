#include "fs/fuse/options.h"

#include <cerrno>

namespace chainfs::fuse {

namespace {

constexpr base::Choice<CacheMode> kCache[] = {{"direct", CacheMode::kDirect}, {"kernel", CacheMode::kKernel}};
constexpr base::Choice<TransportKind> kTransport[] = {{"dev", TransportKind::kDev}, {"uring", TransportKind::kUring}};

}  // namespace

const base::OptionTable<Options>& option_table() {
  static const base::OptionTable<Options> table = [] {
    base::OptionTable<Options> t;
    t.push_back(base::choice_option("cache", &Options::cache, std::span<const base::Choice<CacheMode>>(kCache),
                                    "bypass the kernel page cache, or use it (default {default}:\n"
                                    "write-through; add -o writeback_cache for writeback\n"
                                    "caching; direct refuses shared mmap)"));
    t.push_back(base::choice_option("transport", &Options::transport,
                                    std::span<const base::Choice<TransportKind>>(kTransport),
                                    "FUSE requests over /dev/fuse, or FUSE-over-io_uring\n"
                                    "(needs /sys/module/fuse/parameters/enable_uring = Y;\n"
                                    "without it: one log line, then dev) (default {default})"));
    base::Option<Options> ra;
    ra.name = "readahead";
    ra.values = "SIZE";
    ra.help = "the mount's kernel readahead (default 4M; 0: the kernel's)";
    ra.set = [](Options& o, std::string_view value, std::string* error) {
      auto v = base::parse_size(value);
      if (!v || *v > (1ull << 30)) {
        *error = base::bad_value("readahead", value, "a size up to 1G, such as 1M (0: the kernel's)");
        return -EINVAL;
      }
      o.readahead = *v;
      o.readahead_given = true;
      return 0;
    };
    t.push_back(std::move(ra));
    return t;
  }();
  return table;
}

int set_option(Options* opts, std::string_view key, std::string_view value, std::string* error) {
  return base::set_option(option_table(), *opts, key, value, error);
}

const char* to_string(CacheMode v) { return base::choice_name(std::span<const base::Choice<CacheMode>>(kCache), v); }
const char* to_string(TransportKind v) {
  return base::choice_name(std::span<const base::Choice<TransportKind>>(kTransport), v);
}

}  // namespace chainfs::fuse
