#pragma once
// Options: the request layer's own mount options (-o key=value), declared once in its option
// table (base/option_table.h): cache=, transport= and readahead=. The other layers declare
// theirs (fs/meta/filesystem.h, fs/cache/engine_config.h). Every strategy is chosen at mount
// time; all values are correct, they differ only in speed, CPU and memory.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/option_table.h"

namespace chainfs::fuse {

enum class CacheMode { kDirect, kKernel };
enum class TransportKind { kDev, kUring };  // FUSE requests over /dev/fuse or FUSE-over-io_uring

struct Options {
  CacheMode cache = CacheMode::kKernel;
  TransportKind transport = TransportKind::kDev;
  // The mount's kernel readahead (its bdi read_ahead_kb) in bytes; 0 leaves the kernel's
  // (128 KiB). The default lets a sequential reader keep several 1 MiB FUSE reads in
  // flight: a cold 1 GiB read went from 300-340 to 380-655 MB/s with 1-8 MiB (README).
  uint64_t readahead = 4u << 20;
  bool readahead_given = false;  // -o readahead= was given (a failure to set it is then a warning)
};

// cache=, transport=, readahead=.
const base::OptionTable<Options>& option_table();

// Sets one option of the table from "key" and "value" (the text after '='). Returns 0, or
// -EINVAL with *error set to one line naming the key and the accepted values. Unknown keys
// give -ENOENT (the caller decides whether somebody else knows the key).
int set_option(Options* opts, std::string_view key, std::string_view value, std::string* error);

const char* to_string(CacheMode v);
const char* to_string(TransportKind v);

}  // namespace chainfs::fuse
