#pragma once
// Engine-level cells: the io/ engine alone, no FUSE and no filesystem, on the block device.
// A write cell appends the device sequentially in 8 KiB pieces, copying each 4 KiB page
// into a buffer from the page pool first (what the page cache does with a FUSE write); a
// read cell reads it back 128 KiB at a time into pool pages. The pool pages go back to the
// pool in the completion callback, so `completion` and `page_alloc` both matter.
//   write_strategy sync:  one pwritev/preadv per piece on the O_DIRECT descriptor
//   write_strategy page:  one io_uring request per 4 KiB page (bio_chain with merge off)
//   write_strategy chain: the bio_chain builder
#include <string>
#include <vector>

#include "tools/bench/cell.h"
#include "tools/bench/workloads.h"

namespace chainfs::bench {

struct EngineConfig {
  std::string strategy;    // sync | page | chain
  std::string completion;  // inline | thread | waiter ("-" for sync, which has none)
  std::string page_alloc;  // malloc | percpu | gang
  std::string label() const { return "engine " + strategy + "/" + completion + "/" + page_alloc; }
};

// Every combination of the lists (sync once per page_alloc).
std::vector<EngineConfig> engine_matrix(const std::vector<std::string>& strategies,
                                        const std::vector<std::string>& completions,
                                        const std::vector<std::string>& allocs);

inline const std::vector<std::string>& engine_workloads() {
  static const std::vector<std::string> w{"engine-write-8k", "engine-read-128k"};
  return w;
}

// One repetition; 0 or -errno (*why set).
int run_engine_workload(const EngineConfig& c, const std::string& workload, const std::string& device,
                        const WorkParams& p, Meter& m, Sample* s, std::string* why);

}  // namespace chainfs::bench
