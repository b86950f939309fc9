#pragma once
// PagePool: where chainfs's page buffers come from (mem/README.md: the gang page pool and
// virtual compound buffers). Pages are 4 KiB, 4 KiB aligned (O_DIRECT), carved from large mmap'd
// arenas with MADV_HUGEPAGE. Single pages go through a per-thread cache with no lock and no
// atomic read-modify-write on the fast path, refilled and drained in gangs from a shared depot
// (one lock per gang). Gangs and compound buffers come straight from the depot in address order.
// Allocation never fails: under the byte cap it calls the reclaim hook and waits.
//
// Every page, however it was allocated, may be freed with free_page() or free_gang() on any
// thread. Frees of foreign pointers and double frees are ignored and counted (bad_frees) when
// they reach the depot; a page freed twice into a thread cache is not detected. All methods are thread-safe. Destroy the pool only when no thread uses it any more;
// threads that used it may still be alive (their caches are discarded) or already gone (their
// caches went back to the depot at thread exit).
#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include "mem/aligned_buffer.h"  // kBlockSize
#include "mem/compound.h"
#include "mem/pool_options.h"
#include "mem/pool_stats.h"

namespace chainfs::mem {

// Called by an allocating thread when the cap is reached, with no pool lock held, asking for
// `pages_wanted` pages to be freed (write back, evict clean pages). It may free pages to the
// pool (from any thread) and may allocate; an allocation inside the hook that would wait does
// not call the hook again. Called again every few milliseconds while the allocation waits,
// and possibly by several waiting threads at once.
using ReclaimHook = std::function<void(size_t pages_wanted)>;

class PagePool {
 public:
  virtual ~PagePool() = default;
  PagePool() = default;
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  // One page, contents undefined. Never nullptr: blocks under the cap until a page comes back.
  virtual void* alloc_page() = 0;
  // Gives back one page (any thread).
  virtual void free_page(void* page) noexcept = 0;

  // Fills `out` with out.size() pages straight from the depot without touching the thread
  // caches, in ascending address order and in as few contiguous runs as the depot allows
  // (kGang; the other kinds allocate page by page). Blocks under the cap.
  virtual void alloc_gang(std::span<void*> out) = 0;
  // Gives back many pages with one depot lock (any order, any thread).
  virtual void free_gang(std::span<void* const> pages) noexcept = 0;

  // A buffer of `bytes` bytes (rounded up to whole pages): one contiguous run when the depot
  // has one, else a scatter list (always the scatter list when options().force_fallback).
  virtual CompoundBuffer alloc_compound(size_t bytes) = 0;

  // Registers (or with an empty function, removes) the reclaim hook. Set it before use.
  virtual void set_reclaim_hook(ReclaimHook hook) = 0;
  // Returns this thread's cached pages to the depot (e.g. before a thread goes idle).
  virtual void flush_thread_cache() noexcept = 0;
  virtual PoolStats stats() const = 0;
  virtual const PoolOptions& options() const = 0;
};

// Builds the pool `options.kind` asks for; force_fallback is also set from the environment.
std::unique_ptr<PagePool> make_page_pool(PoolOptions options = {});

}  // namespace chainfs::mem
