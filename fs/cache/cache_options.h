#pragma once
// CacheOptions: how the page cache writes and reads (the write and read strategies, chosen
// at mount time; each is correct, they differ in speed), and the writeback knobs. The mount
// options write_strategy= and read_strategy= are declared here (base/option_table.h).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "base/option_table.h"

namespace chainfs::cache {

enum class WriteStrategy {
  kSync,   // write-through: one synchronous io::Device write per call, pages stay clean
  kPage,   // dirty tracking; writeback sends one request per page
  kChain,  // dirty tracking; writeback goes through the bio_chain builder (default)
};

enum class ReadStrategy {
  kPage,  // one page allocation and one device request per missing page, no readahead
  kGang,  // gang-allocated pages, one request per contiguous run, sequential readahead (default)
};

struct CacheOptions {
  WriteStrategy write = WriteStrategy::kChain;
  ReadStrategy read = ReadStrategy::kGang;
  // Dirty bytes (all inodes) above which the flusher writes everything back; 0 = a quarter of
  // the pool's byte cap, or 256 MiB without a cap. Past twice this, a writer writes its own
  // file back and waits before its write returns (throttling).
  uint64_t dirty_limit_bytes = 0;
  // The timer trigger: every dirty page reaches the device at least this often; 0 = no timer.
  uint32_t flush_interval_ms = 5000;
  // Streaming writeback: a contiguous dirty run of the device's largest request is written at
  // once, without waiting for fsync or the flusher.
  bool stream_writeback = true;
  // Largest readahead window in pages (doubles from 4 on each sequential read).
  uint32_t readahead_max_pages = 256;
  // Requests of the bio pool shared by all writeback and read chains.
  uint32_t bio_requests = 64;
  // Test seam: called at the start of every write completion, in the completion context.
  std::function<void()> completion_probe;
};

// The values of write_strategy= and read_strategy=, in --help order.
std::span<const base::Choice<WriteStrategy>> write_strategies();
std::span<const base::Choice<ReadStrategy>> read_strategies();
// write_strategy=, read_strategy=.
const base::OptionTable<CacheOptions>& cache_option_table();

std::optional<WriteStrategy> parse_write_strategy(std::string_view s);  // sync|page|chain
std::optional<ReadStrategy> parse_read_strategy(std::string_view s);    // page|gang
const char* to_string(WriteStrategy s);
const char* to_string(ReadStrategy s);

}  // namespace chainfs::cache
