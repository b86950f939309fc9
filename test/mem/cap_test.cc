// The byte cap: allocation waits for pages to come back (calling the reclaim hook) instead of
// failing, and a cap of a few pages still makes progress.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "mem/page_pool.h"
#include "pool_test_util.h"

using namespace chainfs::mem;
using chainfs::kBlockSize;
using chainfs::mem::test::check_balanced;

namespace {

// Slack the cap allows on top of itself: each thread's cache may park 2 x gang_pages pages
// (kPercpu: gang_pages), kMalloc has no cache.
size_t slack_per_thread(const PoolOptions& o) {
  switch (o.kind) {
    case PoolKind::kMalloc: return 0;
    case PoolKind::kPercpu: return std::max<size_t>(o.gang_pages, 2);
    case PoolKind::kGang: return 2 * o.gang_pages;
  }
  return 0;
}

// A producer allocates `count` pages (or gangs of `gang` pages, or compound buffers of `gang`
// pages) and queues them; a consumer checks and frees them. Returns the most pages users held
// at once.
size_t producer_consumer(PagePool& pool, size_t count, size_t gang, bool compound = false) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<void*>> queue;
  bool done = false;
  std::atomic<size_t> held{0}, max_held{0};

  std::thread consumer([&] {
    size_t seq = 0;
    for (;;) {
      std::vector<void*> item;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done || !queue.empty(); });
        if (queue.empty()) return;
        item = std::move(queue.front());
        queue.pop_front();
      }
      for (void* p : item) {
        size_t got;
        std::memcpy(&got, p, sizeof got);
        CHECK(got == seq);
        ++seq;
      }
      held -= item.size();
      if (item.size() == 1) pool.free_page(item[0]);
      else pool.free_gang(item);
    }
  });

  size_t seq = 0;
  for (size_t i = 0; i < count; ++i) {
    std::vector<void*> item(gang);
    if (compound) item = pool.alloc_compound(gang * kBlockSize).release_pages();
    else if (gang == 1) item[0] = pool.alloc_page();
    else pool.alloc_gang(item);
    size_t now = held += gang;
    size_t prev = max_held.load();
    while (now > prev && !max_held.compare_exchange_weak(prev, now)) {
    }
    for (void* p : item) {
      std::memcpy(p, &seq, sizeof seq);
      ++seq;
    }
    std::lock_guard lock(mu);
    queue.push_back(std::move(item));
    cv.notify_one();
  }
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_one();
  consumer.join();
  return max_held.load();
}

}  // namespace

TEST_CASE("a cap of a few pages still makes progress: producer and consumer threads") {
  for (PoolKind kind : {PoolKind::kGang, PoolKind::kPercpu, PoolKind::kMalloc}) {
    for (size_t gang : {size_t{1}, size_t{3}}) {
      const std::string kind_name = to_string(kind);
    CAPTURE(kind_name);
      CAPTURE(gang);
      PoolOptions o;
      o.kind = kind;
      o.byte_cap = 4 * kBlockSize;
      o.gang_pages = 2;
      auto pool = make_page_pool(o);
      size_t max_held = producer_consumer(*pool, 20000, gang);
      // Users never hold more than the cap plus what two threads' caches may park.
      CHECK(max_held <= 4 + 2 * slack_per_thread(o));
      pool->flush_thread_cache();
      PoolStats s = pool->stats();
      CHECK(s.waits > 0);
      CHECK(s.allocs == 20000 * gang);
      check_balanced(*pool);
    }
  }
}

TEST_CASE("compound buffers under a cap of a few pages, both compound modes") {
  for (bool forced : {false, true}) {
    CAPTURE(forced);
    PoolOptions o;
    o.byte_cap = 6 * kBlockSize;
    o.gang_pages = 2;
    o.force_fallback = forced;
    auto pool = make_page_pool(o);
    size_t max_held = producer_consumer(*pool, 5000, 4, true);
    CHECK(max_held <= 6 + 2 * slack_per_thread(o));
    pool->flush_thread_cache();
    PoolStats s = pool->stats();
    CHECK(s.waits > 0);
    CHECK(s.compound_contiguous + s.compound_fallback == 5000);
    if (forced) CHECK(s.compound_contiguous == 0);
    else CHECK(s.compound_contiguous > 0);
    check_balanced(*pool);
  }
}

TEST_CASE("at the cap the reclaim hook is called and the pages it frees are reused") {
  for (PoolKind kind : {PoolKind::kGang, PoolKind::kPercpu, PoolKind::kMalloc}) {
    const std::string kind_name = to_string(kind);
    CAPTURE(kind_name);
    PoolOptions o;
    o.kind = kind;
    o.byte_cap = 16 * kBlockSize;
    o.gang_pages = 4;
    auto pool = make_page_pool(o);
    // A stand-in for the page cache: it keeps every page until the pool asks for some back.
    std::mutex mu;
    std::deque<void*> cached;
    std::atomic<uint64_t> asked{0}, hook_calls{0};
    pool->set_reclaim_hook([&](size_t wanted) {
      CHECK(wanted > 0);
      ++hook_calls;
      asked += wanted;
      std::lock_guard lock(mu);
      for (size_t i = 0; i < wanted && !cached.empty(); ++i) {
        pool->free_page(cached.front());
        cached.pop_front();
      }
    });
    for (int i = 0; i < 2000; ++i) {
      void* p = pool->alloc_page();
      std::lock_guard lock(mu);
      cached.push_back(p);
      CHECK(cached.size() <= 16 + slack_per_thread(o));
    }
    PoolStats s = pool->stats();
    CHECK(hook_calls > 0);
    CHECK(s.reclaim_calls == hook_calls.load());
    CHECK(s.waits > 0);
    pool->set_reclaim_hook({});
    for (void* p : cached) pool->free_page(p);
    pool->flush_thread_cache();
    check_balanced(*pool);
  }
}

TEST_CASE("a gang larger than the cap is served when nobody else holds pages") {
  for (PoolKind kind : {PoolKind::kGang, PoolKind::kMalloc}) {
    const std::string kind_name = to_string(kind);
    CAPTURE(kind_name);
    PoolOptions o;
    o.kind = kind;
    o.byte_cap = 8 * kBlockSize;
    o.gang_pages = 1;
    auto pool = make_page_pool(o);
    std::vector<void*> gang(64);
    pool->alloc_gang(gang);
    for (void* p : gang) CHECK(p != nullptr);
    pool->free_gang(gang);
    CompoundBuffer big = pool->alloc_compound(40 * kBlockSize);
    CHECK(big.page_count() == 40);
    big = CompoundBuffer();
    check_balanced(*pool);
  }
}

TEST_CASE("an allocation that waits inside the reclaim hook does not call the hook again") {
  PoolOptions o;
  o.byte_cap = 4 * kBlockSize;
  o.gang_pages = 1;
  auto pool = make_page_pool(o);
  std::vector<void*> held;
  std::atomic<int> depth{0}, max_depth{0}, calls{0};
  pool->set_reclaim_hook([&](size_t) {
    int d = ++depth;
    if (d > max_depth) max_depth = d;
    if (++calls == 1) {
      // Reclaim that needs a page itself while another thread is still writing back: the
      // nested allocation must wait for that thread, not re-enter the hook.
      std::vector<void*> mine;
      mine.swap(held);
      std::thread writeback([&pool, mine] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (void* p : mine) pool->free_page(p);
      });
      void* scratch = pool->alloc_page();
      pool->free_page(scratch);
      writeback.join();
    } else {
      for (void* p : held) pool->free_page(p);
      held.clear();
    }
    --depth;
  });
  for (int i = 0; i < 100; ++i) held.push_back(pool->alloc_page());
  CHECK(calls > 1);
  CHECK(max_depth == 1);
  for (void* p : held) pool->free_page(p);
  pool->flush_thread_cache();
  check_balanced(*pool);
}
