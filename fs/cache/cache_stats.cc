#include "fs/cache/cache_stats.h"

namespace chainfs::cache {

const char* to_string(Trigger t) {
  switch (t) {
    case Trigger::kFsync: return "fsync";
    case Trigger::kSyncAll: return "sync";
    case Trigger::kThreshold: return "threshold";
    case Trigger::kTimer: return "timer";
    case Trigger::kStream: return "stream";
    case Trigger::kReclaim: return "reclaim";
    case Trigger::kCount: break;
  }
  return "?";
}

nlohmann::json CacheStats::to_json() const {
  nlohmann::json j = {
      {"hits", get(hits)},
      {"misses", get(misses)},
      {"read_requests", get(read_requests)},
      {"readahead_pages", get(readahead_pages)},
      {"pages", get(pages)},
      {"dirty_pages", get(dirty_pages)},
      {"writeback_pages", get(writeback_pages)},
      {"written_pages", get(written_pages)},
      {"redirtied", get(redirtied)},
      {"evictions", get(evictions)},
      {"invalidated", get(invalidated)},
      {"write_errors", get(write_errors)},
      {"sync_writes", get(sync_writes)},
      {"rmw_reads", get(rmw_reads)},
  };
  nlohmann::json by = nlohmann::json::object();
  for (int i = 0; i < static_cast<int>(Trigger::kCount); ++i)
    by[to_string(static_cast<Trigger>(i))] = {{"calls", get(wb_batches[i])}, {"pages", get(wb_pages[i])}};
  j["writeback"] = std::move(by);
  return j;
}

}  // namespace chainfs::cache
