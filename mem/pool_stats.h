#pragma once
// PoolStats: a snapshot of a PagePool's counters, for the filesystem's JSON statistics.
#include <cstdint>

namespace chainfs::mem {

struct PoolStats {
  uint64_t allocs = 0;               // pages handed out (single, gang and compound)
  uint64_t frees = 0;                // pages given back
  uint64_t thread_hits = 0;          // single-page allocs served from the thread cache
  uint64_t refills = 0;              // thread cache refills from the depot (one lock each)
  uint64_t drains = 0;               // thread cache drains to the depot (one lock each)
  uint64_t gang_allocs = 0;          // alloc_gang() calls
  uint64_t gang_runs = 0;            // contiguous runs those gangs were made of
  uint64_t compound_contiguous = 0;  // alloc_compound() served by one contiguous run
  uint64_t compound_fallback = 0;    // alloc_compound() served by a scatter list
  uint64_t waits = 0;                // allocations that had to wait under the cap
  uint64_t reclaim_calls = 0;        // calls of the reclaim hook
  uint64_t arenas = 0;               // mmap'd arenas
  uint64_t pages_mapped = 0;         // pages in the arenas (kMalloc: pages ever allocated at once)
  uint64_t pages_in_use = 0;         // pages held by users (approximate while threads run)
  uint64_t pages_cached = 0;         // pages parked in thread caches (approximate)
  uint64_t byte_cap = 0;             // the cap (0 = none)
  uint64_t bad_frees = 0;            // frees of pages not taken from the pool, or freed twice (ignored)

  // Calls f(name, value) for every field, so that callers can print them without listing them.
  template <class F>
  void visit(F&& f) const {
    f("allocs", allocs);
    f("frees", frees);
    f("thread_hits", thread_hits);
    f("refills", refills);
    f("drains", drains);
    f("gang_allocs", gang_allocs);
    f("gang_runs", gang_runs);
    f("compound_contiguous", compound_contiguous);
    f("compound_fallback", compound_fallback);
    f("waits", waits);
    f("reclaim_calls", reclaim_calls);
    f("arenas", arenas);
    f("pages_mapped", pages_mapped);
    f("pages_in_use", pages_in_use);
    f("pages_cached", pages_cached);
    f("byte_cap", byte_cap);
    f("bad_frees", bad_frees);
  }
};

}  // namespace chainfs::mem
