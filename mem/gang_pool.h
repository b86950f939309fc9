#pragma once
// GangPool (page_alloc=gang, and page_alloc=percpu with a batch of one page and no explicit
// gangs): per-thread caches in front of a locked depot of mmap'd arenas.
//
// The cap counts pages held by users. The depot tracks the pages it has lent (to users and to
// thread caches); a cache can park at most its capacity, so with limit = cap + the capacities of
// all attached caches, "lent == limit" implies users hold at least `cap` pages: a waiter then
// always waits for pages a user still holds, never for pages stranded in an idle thread's cache.
#include <cstdint>
#include <vector>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
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
  void retire(ThreadCache* cache) noexcept EXCLUDES(mu_);

 private:
  enum class Take { kRefill, kPages, kGang, kRun, kScatter };

  ThreadCache* cache();  // this thread's cache, attaching one on first use
  ThreadCache* attach();
  void* refill(ThreadCache* c) EXCLUDES(mu_);
  void drain(ThreadCache* c) noexcept EXCLUDES(mu_);
  // Takes pages from the depot, waiting under the cap: kRefill takes between 1 and out.size()
  // and returns how many; the others take exactly out.size(). kRun returns 0 when the depot has
  // no contiguous run (nothing taken). kPages counts no gang or compound.
  size_t take(Take how, std::span<void*> out) EXCLUDES(mu_);
  bool try_take_locked(Take how, std::span<void*> out, size_t* got) REQUIRES(mu_);
  void put_locked(std::span<void* const> pages) REQUIRES(mu_);
  size_t limit_locked() const REQUIRES(mu_);

  const PoolOptions options_;
  const uint64_t id_;
  const size_t cap_pages_;
  const uint32_t batch_;
  const uint32_t cache_capacity_;
  const bool explicit_gangs_;
  ReclaimCaller reclaim_;

  // Lock order: the registry of live pools (gang_pool.cc), then mu_.
  mutable base::Mutex mu_;
  base::CondVar cv_;                  // pages came back to the depot
  Depot depot_ GUARDED_BY(mu_);
  size_t lent_ GUARDED_BY(mu_) = 0;   // pages out of the depot
  size_t slack_ GUARDED_BY(mu_) = 0;  // sum of attached caches' capacities
  int waiters_ GUARDED_BY(mu_) = 0;
  std::vector<ThreadCache*> caches_ GUARDED_BY(mu_);  // attached caches (owned by their threads)
  PoolStats counted_ GUARDED_BY(mu_);  // depot-side counters and those of retired caches
};

}  // namespace chainfs::mem
