#pragma once
// ThreadCache: one thread's stack of free pages for one pool. Only the owning thread changes
// it, so its fast path needs no lock; the count and the counters are relaxed atomics written
// with plain load+store (no read-modify-write, a plain mov on x86) only so that stats() may
// read them from another thread without a data race.
#include <atomic>
#include <cstdint>
#include <memory>

namespace chainfs::mem {

// A counter written by one thread, read by any.
class OwnerCounter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct ThreadCache {
  ThreadCache(uint64_t id, uint32_t cap) : pool_id(id), capacity(cap), slots(new void*[cap]) {}

  uint32_t size() const { return count.load(std::memory_order_relaxed); }
  void set_size(uint32_t n) { count.store(n, std::memory_order_relaxed); }

  const uint64_t pool_id;  // the pool it belongs to (ids are never reused)
  const uint32_t capacity;
  std::unique_ptr<void*[]> slots;  // slots[0] is the coldest page, slots[size-1] the hottest
  std::atomic<uint32_t> count{0};
  OwnerCounter allocs, frees, hits, refills, drains;
};

}  // namespace chainfs::mem
