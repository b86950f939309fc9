#pragma once
// CacheStats: what the page cache did — hits, misses, readahead, dirty pages, writebacks by
// trigger, evictions, errors. Relaxed atomic counters, safe from any thread; a snapshot is
// approximately consistent.
#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace chainfs::cache {

// Why pages were written back.
enum class Trigger : uint8_t { kFsync, kSyncAll, kThreshold, kTimer, kStream, kReclaim, kCount };
const char* to_string(Trigger t);

class CacheStats {
 public:
  using Counter = std::atomic<uint64_t>;
  static void add(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static void sub(Counter& c, uint64_t n = 1) { c.fetch_sub(n, std::memory_order_relaxed); }
  static uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }

  Counter hits{0}, misses{0};          // pages found / not found by reads
  Counter read_requests{0};            // device read requests issued by the cache
  Counter readahead_pages{0};          // pages read beyond what was asked
  Counter pages{0};                    // pages in the cache now
  Counter dirty_pages{0};              // dirty pages now
  Counter writeback_pages{0};          // pages under writeback now
  Counter written_pages{0};            // pages whose writeback completed
  Counter redirtied{0};                // writes to a page under writeback (copied, kept dirty)
  Counter evictions{0};                // clean pages dropped by reclaim
  Counter invalidated{0};              // pages dropped by invalidate/forget
  Counter write_errors{0};             // pages whose writeback failed
  Counter sync_writes{0};              // write-through device writes (write_strategy=sync)
  Counter rmw_reads{0};                // blocks read before a partial write
  Counter wb_batches[static_cast<int>(Trigger::kCount)] = {};  // writeback calls by trigger
  Counter wb_pages[static_cast<int>(Trigger::kCount)] = {};    // pages sent by trigger

  nlohmann::json to_json() const;
};

}  // namespace chainfs::cache
