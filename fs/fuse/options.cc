#include "fs/fuse/options.h"

#include <fmt/core.h>

#include <cerrno>
#include <charconv>
#include <limits>

namespace chainfs::fuse {

namespace {

template <class E>
struct Choice {
  const char* name;
  E value;
};

// Looks value up in choices; on a miss writes "key=value: expected a|b|c".
template <class E, size_t N>
int pick(const Choice<E> (&choices)[N], std::string_view key, std::string_view value, E* out,
         std::string* error) {
  std::string names;
  for (const auto& c : choices) {
    if (value == c.name) {
      *out = c.value;
      return 0;
    }
    if (!names.empty()) names += '|';
    names += c.name;
  }
  *error = fmt::format("bad value in -o {}={}: expected {}", key, value, names);
  return -EINVAL;
}

// Whole seconds, 1 to 3600; on anything else writes "key=value: expected seconds, 1 to 3600".
int seconds(std::string_view key, std::string_view value, unsigned* out, std::string* error) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v == 0 || v > 3600) {
    *error = fmt::format("bad value in -o {}={}: expected seconds, 1 to 3600", key, value);
    return -EINVAL;
  }
  *out = v;
  return 0;
}

constexpr Choice<WriteStrategy> kWrite[] = {
    {"sync", WriteStrategy::kSync}, {"page", WriteStrategy::kPage}, {"chain", WriteStrategy::kChain}};
constexpr Choice<Completion> kCompletion[] = {
    {"inline", Completion::kInline}, {"thread", Completion::kThread}, {"waiter", Completion::kWaiter}};
constexpr Choice<CacheMode> kCache[] = {{"direct", CacheMode::kDirect}, {"kernel", CacheMode::kKernel}};
constexpr Choice<PageAlloc> kPageAlloc[] = {
    {"malloc", PageAlloc::kMalloc}, {"percpu", PageAlloc::kPercpu}, {"gang", PageAlloc::kGang}};
constexpr Choice<ReadStrategy> kRead[] = {{"page", ReadStrategy::kPage}, {"gang", ReadStrategy::kGang}};
constexpr Choice<TransportKind> kTransport[] = {{"dev", TransportKind::kDev}, {"uring", TransportKind::kUring}};

template <class E, size_t N>
const char* name_of(const Choice<E> (&choices)[N], E v) {
  for (const auto& c : choices)
    if (c.value == v) return c.name;
  return "?";
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit.ends_with("iB")) unit.remove_suffix(2);
  else if (unit.size() > 1 && unit.ends_with("B")) unit.remove_suffix(1);
  unsigned shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M" || unit == "m") shift = 20;
  else if (unit == "G" || unit == "g") shift = 30;
  else if (unit == "T" || unit == "t") shift = 40;
  else return std::nullopt;
  if (shift && n > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
  return n << shift;
}

int set_option(Options* opts, std::string_view key, std::string_view value, std::string* error) {
  if (key == "write_strategy") return pick(kWrite, key, value, &opts->write_strategy, error);
  if (key == "completion") return pick(kCompletion, key, value, &opts->completion, error);
  if (key == "cache") return pick(kCache, key, value, &opts->cache, error);
  if (key == "page_alloc") return pick(kPageAlloc, key, value, &opts->page_alloc, error);
  if (key == "read_strategy") return pick(kRead, key, value, &opts->read_strategy, error);
  if (key == "transport") return pick(kTransport, key, value, &opts->transport, error);
  if (key == "readahead") {
    auto v = parse_size(value);
    if (!v || *v > (1ull << 30)) {
      *error = fmt::format("bad value in -o readahead={}: expected a size up to 1G, such as 1M (0: the kernel's)", value);
      return -EINVAL;
    }
    opts->readahead = *v;
    opts->readahead_given = true;
    return 0;
  }
  if (key == "cache_size") {
    auto v = parse_size(value);
    if (!v || *v == 0) {
      *error = fmt::format("bad value in -o cache_size={}: expected a size such as 256M or 2G", value);
      return -EINVAL;
    }
    opts->cache_size = *v;
    return 0;
  }
  if (key == "stats") {
    if (value.empty()) {
      *error = "bad value in -o stats=: expected a file path";
      return -EINVAL;
    }
    opts->stats_path = std::string(value);
    return 0;
  }
  if (key == "compound_fallback") {
    if (!value.empty()) {
      *error = fmt::format("bad option -o compound_fallback={}: it takes no value", value);
      return -EINVAL;
    }
    opts->compound_fallback = true;
    return 0;
  }
  if (key == "flush_interval") return seconds(key, value, &opts->flush_interval_s, error);
  if (key == "nbd_timeout") return seconds(key, value, &opts->nbd_timeout_s, error);
  return -ENOENT;
}

const char* to_string(WriteStrategy v) { return name_of(kWrite, v); }
const char* to_string(Completion v) { return name_of(kCompletion, v); }
const char* to_string(CacheMode v) { return name_of(kCache, v); }
const char* to_string(PageAlloc v) { return name_of(kPageAlloc, v); }
const char* to_string(ReadStrategy v) { return name_of(kRead, v); }
const char* to_string(TransportKind v) { return name_of(kTransport, v); }

const char* options_help() {
  return "chainfs options:\n"
         "    -o ro / -o rw           mount read-only / read-write (default rw)\n"
         "    -o relatime|strictatime|noatime   access time updates as ext4 (default relatime;\n"
         "                            atime, norelatime, nostrictatime: the default)\n"
         "    -o nodiratime|diratime  no atime updates on directories / updates (default)\n"
         "    -o lazytime|nolazytime  accepted; timestamps stay in memory until write-back anyway\n"
         "    -o allow_other          let other users access the mount\n"
         "    -o blkdev               fuseblk mount (root, DEV a block device): umount\n"
         "                            returns once everything is on the device\n"
         "    -o fsname=NAME          mount source shown by df/findmnt (default: DEV);\n"
         "                            given without subtype=, the type is plain 'fuse'\n"
         "    -o subtype=TYPE         type fuse.TYPE (default chainfs)\n"
         "    -o nonempty             allow a mountpoint that is not empty\n"
         "    -o remount,ro|rw        switch a running mount (what mount -o remount sends)\n"
         "    -o write_strategy=sync|page|chain   device write path (default chain)\n"
         "    -o completion=inline|thread|waiter  where I/O completion work runs (default thread)\n"
         "    -o cache=direct|kernel  bypass the kernel page cache, or use it (default kernel:\n"
         "                            write-through; add -o writeback_cache for writeback\n"
         "                            caching; direct refuses shared mmap)\n"
         "    -o page_alloc=malloc|percpu|gang    page buffer allocator (default gang)\n"
         "    -o read_strategy=page|gang          per-page or gang reads (default gang)\n"
         "    -o cache_size=SIZE      page cache size, e.g. 512M (default: engine's choice)\n"
         "    -o stats=PATH           write statistics as JSON to PATH\n"
         "    -o flush_interval=SECS  write dirty data at least this often (default 5)\n"
         "    -o nbd_timeout=SECS     NBD devices: a request the server does not answer in\n"
         "                            time fails with EIO and the connection is re-made (default 30)\n"
         "    -o transport=dev|uring  FUSE requests over /dev/fuse, or FUSE-over-io_uring\n"
         "                            (needs /sys/module/fuse/parameters/enable_uring = Y;\n"
         "                            without it: one log line, then dev) (default dev)\n"
         "    -o readahead=SIZE       the mount's kernel readahead (default 4M; 0: the kernel's)\n"
         "    -o compound_fallback    debug: compound buffers always as scatter lists\n"
         "                            (also CHAINFS_FORCE_COMPOUND_FALLBACK=1)\n";
}

}  // namespace chainfs::fuse
