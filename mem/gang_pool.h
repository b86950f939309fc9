#pragma once
// GangPool (page_alloc=gang, and page_alloc=percpu with a batch of one page and no explicit
// gangs): per-thread caches in front of a locked depot of mmap'd arenas.
//
// The cap counts pages held by users. The depot tracks the pages it has lent (to users and to
// thread caches); a cache can park at most its capacity, so with limit = cap + the capacities of
// all attached caches, "lent == limit" implies users hold at least `cap` pages: a waiter then
// always waits for pages a user still holds, never for pages stranded in an idle thread's cache.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "mem/depot.h"
#include "mem/page_pool.h"
#include "mem/reclaim.h"
#include "mem/thread_cache.h"

namespace chainfs::mem {

class GangPool final : public PagePool {
 public:
  explicit GangPool(PoolOptions options);
  ~GangPool() override;

  void* alloc_page() override;
  void free_page(void* page) noexcept override;
  void alloc_gang(std::span<void*> out) override;
  void free_gang(std::span<void* const> pages) noexcept override;
  CompoundBuffer alloc_compound(size_t bytes) override;
  void set_reclaim_hook(ReclaimHook hook) override { reclaim_.set(std::move(hook)); }
  void flush_thread_cache() noexcept override;
  PoolStats stats() const override;
  const PoolOptions& options() const override { return options_; }

  // Thread exit: gives the cache's pages back and folds its counters in. Called with the
  // registry of live pools locked, so the pool cannot be destroyed meanwhile.
  void retire(ThreadCache* cache) noexcept;

 private:
  enum class Take { kRefill, kPages, kGang, kRun, kScatter };

  ThreadCache* cache();  // this thread's cache, attaching one on first use
  ThreadCache* attach();
  void* refill(ThreadCache* c);
  void drain(ThreadCache* c) noexcept;
  // Takes pages from the depot, waiting under the cap: kRefill takes between 1 and out.size()
  // and returns how many; the others take exactly out.size(). kRun returns 0 when the depot has
  // no contiguous run (nothing taken). kPages counts no gang or compound.
  size_t take(Take how, std::span<void*> out);
  bool try_take_locked(Take how, std::span<void*> out, size_t* got);  // REQUIRES: mu_ held
  void put_locked(std::span<void* const> pages);                     // REQUIRES: mu_ held
  size_t limit_locked() const;                                       // REQUIRES: mu_ held

  const PoolOptions options_;
  const uint64_t id_;
  const size_t cap_pages_;
  const uint32_t batch_;
  const uint32_t cache_capacity_;
  const bool explicit_gangs_;
  ReclaimCaller reclaim_;

  // Lock order: the registry of live pools (gang_pool.cc), then mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;  // pages came back to the depot
  Depot depot_;                 // guarded by mu_
  size_t lent_ = 0;             // guarded by mu_: pages out of the depot
  size_t slack_ = 0;            // guarded by mu_: sum of attached caches' capacities
  int waiters_ = 0;             // guarded by mu_
  std::vector<ThreadCache*> caches_;  // guarded by mu_: attached caches (owned by their threads)
  // Guarded by mu_: depot-side counters and those of retired caches.
  PoolStats counted_;
};

}  // namespace chainfs::mem
