#include "mem/malloc_pool.h"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

namespace chainfs::mem {

namespace {
constexpr auto kReclaimInterval = std::chrono::milliseconds(5);
}

MallocPool::MallocPool(PoolOptions options)
    : options_(options), cap_pages_((options.byte_cap + kBlockSize - 1) / kBlockSize) {}

void MallocPool::reserve(size_t pages) {
  if (cap_pages_ == 0) {
    in_use_.fetch_add(pages, std::memory_order_relaxed);
    return;
  }
  bool waited = false;
  for (;;) {
    uint64_t cur = in_use_.load(std::memory_order_relaxed);
    // A request larger than the whole cap is let through once nothing else is in use, so that
    // it still makes progress.
    while (cur + pages <= cap_pages_ || (cur == 0 && pages > cap_pages_)) {
      if (in_use_.compare_exchange_weak(cur, cur + pages, std::memory_order_relaxed)) return;
    }
    if (!waited) {
      waited = true;
      waits_.fetch_add(1, std::memory_order_relaxed);
    }
    if (reclaim_.call(pages)) {
      reclaim_calls_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    base::MutexLock lock(wait_mu_);
    waiters_.fetch_add(1);
    cur = in_use_.load();
    if (!(cur + pages <= cap_pages_ || (cur == 0 && pages > cap_pages_))) {
      wait_cv_.wait_for(wait_mu_, kReclaimInterval);
    }
    waiters_.fetch_sub(1);
  }
}

void MallocPool::unreserve(size_t pages) noexcept {
  in_use_.fetch_sub(pages);
  if (cap_pages_ && waiters_.load() > 0) {
    base::MutexLock lock(wait_mu_);
    wait_cv_.notify_all();
  }
}

void* MallocPool::malloc_page() {
  for (;;) {
    void* p = nullptr;
    if (posix_memalign(&p, kBlockSize, kBlockSize) == 0) return p;
    // Out of memory: memory pressure slows allocation down, it does not fail it.
    reclaim_.call(1);
    std::this_thread::sleep_for(kReclaimInterval);
  }
}

void* MallocPool::alloc_page() {
  reserve(1);
  allocs_.fetch_add(1, std::memory_order_relaxed);
  return malloc_page();
}

void MallocPool::free_page(void* page) noexcept {
  std::free(page);
  frees_.fetch_add(1, std::memory_order_relaxed);
  unreserve(1);
}

void MallocPool::alloc_pages(std::span<void*> out) {
  if (out.empty()) return;
  reserve(out.size());
  for (void*& p : out) p = malloc_page();
  allocs_.fetch_add(out.size(), std::memory_order_relaxed);
}

void MallocPool::alloc_gang(std::span<void*> out) {
  alloc_pages(out);
  gang_allocs_.fetch_add(1, std::memory_order_relaxed);
  gang_runs_.fetch_add(out.size(), std::memory_order_relaxed);
}

void MallocPool::free_gang(std::span<void* const> pages) noexcept {
  if (pages.empty()) return;
  for (void* p : pages) std::free(p);
  frees_.fetch_add(pages.size(), std::memory_order_relaxed);
  unreserve(pages.size());
}

CompoundBuffer MallocPool::alloc_compound(size_t bytes) {
  std::vector<void*> pages((bytes + kBlockSize - 1) / kBlockSize);
  alloc_pages(pages);
  compounds_.fetch_add(1, std::memory_order_relaxed);
  return CompoundBuffer(this, std::move(pages), bytes, options_.force_fallback);
}

PoolStats MallocPool::stats() const {
  PoolStats s;
  s.allocs = allocs_.load(std::memory_order_relaxed);
  s.frees = frees_.load(std::memory_order_relaxed);
  s.gang_allocs = gang_allocs_.load(std::memory_order_relaxed);
  s.gang_runs = gang_runs_.load(std::memory_order_relaxed);
  s.compound_fallback = compounds_.load(std::memory_order_relaxed);
  s.waits = waits_.load(std::memory_order_relaxed);
  s.reclaim_calls = reclaim_calls_.load(std::memory_order_relaxed);
  s.pages_in_use = in_use_.load(std::memory_order_relaxed);
  s.pages_mapped = s.pages_in_use;
  s.byte_cap = options_.byte_cap;
  return s;
}

}  // namespace chainfs::mem
