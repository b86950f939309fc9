#include "mem/gang_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <unordered_map>

namespace chainfs::mem {

namespace {

constexpr auto kWaitSlice = std::chrono::milliseconds(5);  // how often a waiter re-runs reclaim
constexpr uint32_t kMaxBatch = 1024;

// Live pools by id. Thread exit looks a cache's pool up here (and retires the cache into it
// with the lock held), so a pool destroyed before the thread exits is simply skipped.
// Never destroyed: threads may exit after static destructors have run.
struct Registry {
  base::Mutex mu;
  std::unordered_map<uint64_t, GangPool*> live GUARDED_BY(mu);
};
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}
std::atomic<uint64_t> g_next_id{1};

// The fast path reads only these two trivially-initialised thread-locals (no TLS guard).
thread_local uint64_t t_last_id = 0;
thread_local ThreadCache* t_last = nullptr;
thread_local bool t_exited = false;

// Owns this thread's caches; its destructor returns their pages home at thread exit.
struct ThreadCaches {
  std::vector<std::unique_ptr<ThreadCache>> caches;
  ~ThreadCaches() {
    t_exited = true;
    t_last_id = 0;
    t_last = nullptr;
    Registry& r = registry();
    base::MutexLock lock(r.mu);
    for (auto& c : caches) {
      auto it = r.live.find(c->pool_id);
      if (it != r.live.end()) it->second->retire(c.get());
    }
    caches.clear();
  }
};
thread_local ThreadCaches t_caches;

ThreadCache* find_cache(uint64_t id) {
  if (t_last_id == id) return t_last;
  if (t_exited) return nullptr;
  for (auto& c : t_caches.caches) {
    if (c->pool_id == id) return c.get();
  }
  return nullptr;
}

}  // namespace

GangPool::GangPool(PoolOptions options)
    : options_(options),
      id_(g_next_id.fetch_add(1)),
      cap_pages_((options.byte_cap + kBlockSize - 1) / kBlockSize),
      batch_(options.kind == PoolKind::kPercpu
                 ? 1
                 : static_cast<uint32_t>(std::clamp<size_t>(options.gang_pages, 1, kMaxBatch))),
      cache_capacity_(options.kind == PoolKind::kPercpu
                          ? static_cast<uint32_t>(std::clamp<size_t>(options.gang_pages, 2, kMaxBatch))
                          : 2 * batch_),
      explicit_gangs_(options.kind == PoolKind::kGang),
      depot_(std::max(options.arena_bytes, kHugePageSize)) {
  counted_.byte_cap = options.byte_cap;
  Registry& r = registry();
  base::MutexLock lock(r.mu);
  r.live.emplace(id_, this);
}

GangPool::~GangPool() {
  Registry& r = registry();
  {
    base::MutexLock lock(r.mu);
    r.live.erase(id_);
  }
  // Caches of threads still alive now belong to no pool; they are pruned on their next attach
  // or at thread exit. Their pages die with the arenas.
  if (t_last_id == id_) {
    t_last_id = 0;
    t_last = nullptr;
  }
}

inline ThreadCache* GangPool::cache() {
  if (t_last_id == id_) [[likely]]
    return t_last;
  return attach();
}

ThreadCache* GangPool::attach() {
  if (t_exited) return nullptr;
  try {
    if (ThreadCache* c = find_cache(id_)) {
      t_last_id = id_;
      t_last = c;
      return c;
    }
    auto& list = t_caches.caches;
    {
      Registry& r = registry();
      base::MutexLock lock(r.mu);
      // A loop, not erase_if: the analysis checks a lambda as a function of its own, unlocked.
      for (auto it = list.begin(); it != list.end();) {
        it = r.live.contains((*it)->pool_id) ? std::next(it) : list.erase(it);
      }
    }
    auto c = std::make_unique<ThreadCache>(id_, cache_capacity_);
    list.reserve(list.size() + 1);
    {
      base::MutexLock lock(mu_);
      caches_.push_back(c.get());
      slack_ += c->capacity;
    }
    list.push_back(std::move(c));
    t_last_id = id_;
    t_last = list.back().get();
    return t_last;
  } catch (...) {
    return nullptr;  // no memory for a cache: this thread goes to the depot directly
  }
}

void* GangPool::alloc_page() {
  ThreadCache* c = cache();
  if (c) [[likely]] {
    uint32_t n = c->size();
    if (n) [[likely]] {
      --n;
      c->set_size(n);
      c->hits.add();
      c->allocs.add();
      return c->slots[n];
    }
    return refill(c);
  }
  void* p = nullptr;
  take(Take::kPages, std::span<void*>(&p, 1));
  return p;
}

void* GangPool::refill(ThreadCache* c) {
  void* buf[kMaxBatch];
  size_t got = take(Take::kRefill, std::span<void*>(buf, batch_));
  // buf is in address order; the cache pops from the top, so push it highest first and the
  // following allocations come out in address order too. The reclaim hook may have freed pages
  // into this cache meanwhile: what does not fit goes back.
  uint32_t n = c->size();
  size_t i = got;
  while (i > 1 && n < c->capacity) c->slots[n++] = buf[--i];
  c->set_size(n);
  if (i > 1) {
    base::MutexLock lock(mu_);
    put_locked(std::span<void* const>(buf + 1, i - 1));
  }
  c->refills.add();
  c->allocs.add();
  return buf[0];
}

void GangPool::free_page(void* page) noexcept {
  ThreadCache* c = cache();
  if (!c) [[unlikely]] {
    base::MutexLock lock(mu_);
    put_locked(std::span<void* const>(&page, 1));
    ++counted_.frees;
    return;
  }
  uint32_t n = c->size();
  if (n == c->capacity) [[unlikely]] {
    drain(c);
    n = c->size();
  }
  c->slots[n] = page;
  c->set_size(n + 1);
  c->frees.add();
}

void GangPool::drain(ThreadCache* c) noexcept {
  // The coldest pages (bottom of the stack) go home in one gang; the hot ones stay.
  uint32_t n = c->size();
  uint32_t k = std::min(batch_, n);
  {
    base::MutexLock lock(mu_);
    put_locked(std::span<void* const>(c->slots.get(), k));
  }
  std::copy(c->slots.get() + k, c->slots.get() + n, c->slots.get());
  c->set_size(n - k);
  c->drains.add();
}

void GangPool::flush_thread_cache() noexcept {
  ThreadCache* c = find_cache(id_);
  if (!c || c->size() == 0) return;
  {
    base::MutexLock lock(mu_);
    put_locked(std::span<void* const>(c->slots.get(), c->size()));
  }
  c->set_size(0);
  c->drains.add();
}

void GangPool::retire(ThreadCache* c) noexcept {
  base::MutexLock lock(mu_);
  if (c->size()) {
    put_locked(std::span<void* const>(c->slots.get(), c->size()));
    c->set_size(0);
    c->drains.add();
  }
  counted_.allocs += c->allocs.get();
  counted_.frees += c->frees.get();
  counted_.thread_hits += c->hits.get();
  counted_.refills += c->refills.get();
  counted_.drains += c->drains.get();
  std::erase(caches_, c);
  slack_ -= c->capacity;
}

void GangPool::alloc_gang(std::span<void*> out) {
  if (out.empty()) return;
  if (explicit_gangs_) {
    take(Take::kGang, out);
    return;
  }
  // percpu: no explicit gangs, page by page through the thread cache.
  for (void*& p : out) p = alloc_page();
  base::MutexLock lock(mu_);
  ++counted_.gang_allocs;
  counted_.gang_runs += count_runs(out);
}

void GangPool::free_gang(std::span<void* const> pages) noexcept {
  if (pages.empty()) return;
  if (!explicit_gangs_) {
    for (void* p : pages) free_page(p);
    return;
  }
  base::MutexLock lock(mu_);
  put_locked(pages);
  counted_.frees += pages.size();
}

CompoundBuffer GangPool::alloc_compound(size_t bytes) {
  std::vector<void*> pages((bytes + kBlockSize - 1) / kBlockSize);
  if (pages.empty()) return CompoundBuffer(this, std::move(pages), 0, false);
  if (!explicit_gangs_) {
    for (void*& p : pages) p = alloc_page();
    base::MutexLock lock(mu_);
    ++counted_.compound_fallback;
  } else if (options_.force_fallback || take(Take::kRun, pages) == 0) {
    take(Take::kScatter, pages);
  }
  return CompoundBuffer(this, std::move(pages), bytes, options_.force_fallback);
}

size_t GangPool::take(Take how, std::span<void*> out) {
  size_t got = 0;
  bool waited = false;
  for (;;) {
    {
      base::MutexLock lock(mu_);
      if (try_take_locked(how, out, &got)) return got;
      if (!waited) {
        waited = true;
        ++counted_.waits;
      }
    }
    // At the cap (or out of address space): ask the page cache to free some pages, give back
    // what this thread parks (including what the hook just freed here), and wait for pages.
    bool ran = reclaim_.call(out.size() - got);
    flush_thread_cache();
    base::MutexLock lock(mu_);
    if (ran) ++counted_.reclaim_calls;
    if (try_take_locked(how, out, &got)) return got;
    ++waiters_;
    cv_.wait_for(mu_, kWaitSlice);
    --waiters_;
  }
}

size_t GangPool::limit_locked() const { return cap_pages_ + slack_; }

bool GangPool::try_take_locked(Take how, std::span<void*> out, size_t* got) {
  const size_t want = out.size() - *got;
  const size_t limit = limit_locked();
  const size_t room = cap_pages_ == 0 ? SIZE_MAX : (limit > lent_ ? limit - lent_ : 0);
  switch (how) {
    case Take::kRefill: {
      size_t k = std::min(want, room);
      if (k == 0 || !depot_.take(k, out.data())) return false;
      lent_ += k;
      *got = k;
      return true;
    }
    case Take::kRun: {
      if (cap_pages_ && want > limit) return true;  // can never be one run: take the scatter path
      if (want > room) return false;
      char* p = depot_.take_run(want);
      if (!p) return true;
      for (size_t i = 0; i < want; ++i) out[i] = p + i * kBlockSize;
      lent_ += want;
      *got = want;
      counted_.allocs += want;
      ++counted_.compound_contiguous;
      return true;
    }
    case Take::kPages:
    case Take::kGang:
    case Take::kScatter: {
      size_t k = want;
      if (want > room) {
        if (out.size() <= limit) return false;  // wait until the whole request fits
        // Larger than the whole limit, so it can never fit at once: gather pages as they come
        // back (the only case where a waiter holds pages), and when no other user holds a page,
        // nothing will come back: exceed the cap rather than wait forever.
        size_t cached = 0;
        for (const ThreadCache* c : caches_) cached += c->size();
        bool alone = lent_ - *got <= cached;
        if (!alone) k = room;
      }
      if (k == 0 || !depot_.take(k, out.data() + *got)) return false;
      lent_ += k;
      *got += k;
      counted_.allocs += k;
      if (*got < out.size()) return false;
      if (want != out.size()) std::sort(out.begin(), out.end(), std::less<void*>());
      if (how == Take::kGang) {
        ++counted_.gang_allocs;
        counted_.gang_runs += count_runs(out);
      } else if (how == Take::kScatter) {
        ++counted_.compound_fallback;
      }
      return true;
    }
  }
  return false;
}

void GangPool::put_locked(std::span<void* const> pages) {
  size_t bad = depot_.bad_frees();
  depot_.put(pages);
  lent_ -= pages.size() - (depot_.bad_frees() - bad);
  if (waiters_ > 0) cv_.notify_all();
}

PoolStats GangPool::stats() const {
  base::MutexLock lock(mu_);
  PoolStats s = counted_;
  uint64_t cached = 0;
  for (const ThreadCache* c : caches_) {
    s.allocs += c->allocs.get();
    s.frees += c->frees.get();
    s.thread_hits += c->hits.get();
    s.refills += c->refills.get();
    s.drains += c->drains.get();
    cached += c->size();
  }
  s.arenas = depot_.arena_count();
  s.bad_frees = depot_.bad_frees();
  s.pages_mapped = depot_.mapped_pages();
  s.pages_cached = cached;
  s.pages_in_use = lent_ > cached ? lent_ - cached : 0;
  return s;
}

}  // namespace chainfs::mem
