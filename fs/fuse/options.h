#pragma once
// Options: chainfs's own mount options (-o key=value), parsed and validated at start-up
// and handed to the engine. Every strategy is chosen at mount time; all values are
// correct, they differ only in speed, CPU and memory.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chainfs::fuse {

enum class WriteStrategy { kSync, kPage, kChain };
enum class Completion { kInline, kThread, kWaiter };
enum class CacheMode { kDirect, kKernel };
enum class PageAlloc { kMalloc, kPercpu, kGang };
enum class ReadStrategy { kPage, kGang };
enum class TransportKind { kDev, kUring };  // FUSE requests over /dev/fuse or FUSE-over-io_uring

struct Options {
  WriteStrategy write_strategy = WriteStrategy::kChain;
  Completion completion = Completion::kThread;
  CacheMode cache = CacheMode::kKernel;
  PageAlloc page_alloc = PageAlloc::kGang;
  ReadStrategy read_strategy = ReadStrategy::kGang;
  uint64_t cache_size = 0;        // bytes of page cache; 0 = the engine's default
  std::string stats_path;         // empty = no statistics file
  unsigned flush_interval_s = 5;  // dirty data and metadata reach the device at least this often
  unsigned nbd_timeout_s = 30;    // NBD devices: a request without a reply fails after this
  bool compound_fallback = false;  // debug: compound buffers are always scatter lists
  TransportKind transport = TransportKind::kDev;
  // The mount's kernel readahead (its bdi read_ahead_kb) in bytes; 0 leaves the kernel's
  // (128 KiB). The default lets a sequential reader keep several 1 MiB FUSE reads in
  // flight: a cold 1 GiB read went from 300-340 to 380-655 MB/s with 1-8 MiB (README).
  uint64_t readahead = 4u << 20;
  bool readahead_given = false;  // -o readahead= was given (a failure to set it is then a warning)
};

// Sets one option from "key" and "value" (the text after '='). Returns 0, or -EINVAL with
// *error set to one line naming the key and the accepted values. Unknown keys give -ENOENT
// (the caller decides whether somebody else knows the key).
int set_option(Options* opts, std::string_view key, std::string_view value, std::string* error);

// "4096", "64K", "512M", "2G", "1T" (binary multiples, optional trailing "B"/"iB").
std::optional<uint64_t> parse_size(std::string_view text);

const char* to_string(WriteStrategy v);
const char* to_string(Completion v);
const char* to_string(CacheMode v);
const char* to_string(PageAlloc v);
const char* to_string(ReadStrategy v);
const char* to_string(TransportKind v);

// The chainfs part of --help: one line per option with its values and default.
const char* options_help();

}  // namespace chainfs::fuse
