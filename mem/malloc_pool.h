#pragma once
// MallocPool (page_alloc=malloc): posix_memalign per page, the baseline. Gangs and compounds
// are page-by-page scatter lists. The cap is enforced with one atomic counter.
#include <atomic>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "mem/page_pool.h"
#include "mem/reclaim.h"

namespace chainfs::mem {

class MallocPool final : public PagePool {
 public:
  explicit MallocPool(PoolOptions options);
  ~MallocPool() override = default;

  void* alloc_page() override;
  void free_page(void* page) noexcept override;
  void alloc_gang(std::span<void*> out) override;
  void free_gang(std::span<void* const> pages) noexcept override;
  CompoundBuffer alloc_compound(size_t bytes) override;
  void set_reclaim_hook(ReclaimHook hook) override { reclaim_.set(std::move(hook)); }
  void flush_thread_cache() noexcept override {}
  PoolStats stats() const override;
  const PoolOptions& options() const override { return options_; }

 private:
  void reserve(size_t pages);  // waits until `pages` more pages fit under the cap
  void unreserve(size_t pages) noexcept;
  void* malloc_page();
  void alloc_pages(std::span<void*> out);  // reserve + posix_memalign each, no gang counting

  PoolOptions options_;
  size_t cap_pages_;
  ReclaimCaller reclaim_;
  std::atomic<uint64_t> in_use_{0};
  std::atomic<uint64_t> allocs_{0}, frees_{0}, gang_allocs_{0}, gang_runs_{0}, compounds_{0}, waits_{0},
      reclaim_calls_{0};
  std::atomic<int> waiters_{0};
  // A waiter checks in_use_ and sleeps under wait_mu_, and a free notifies under it, so the
  // wake-up cannot fall between the check and the sleep.
  base::Mutex wait_mu_;
  base::CondVar wait_cv_;
};

}  // namespace chainfs::mem
