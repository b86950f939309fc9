#include "mem/page_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "mem/depot.h"
#include "pool_test_util.h"

using namespace chainfs::mem;
using chainfs::kBlockSize;
using chainfs::mem::test::check_balanced;
using chainfs::mem::test::page_aligned;

TEST_CASE("page_alloc= values and their spelling") {
  CHECK(parse_page_alloc("malloc") == PoolKind::kMalloc);
  CHECK(parse_page_alloc("percpu") == PoolKind::kPercpu);
  CHECK(parse_page_alloc("gang") == PoolKind::kGang);
  CHECK_FALSE(parse_page_alloc("Gang").has_value());
  CHECK_FALSE(parse_page_alloc("").has_value());
  for (PoolKind k : {PoolKind::kMalloc, PoolKind::kPercpu, PoolKind::kGang}) CHECK(parse_page_alloc(to_string(k)) == k);
  CHECK(PoolOptions{}.kind == PoolKind::kGang);
}

TEST_CASE("every kind: single pages are aligned, distinct, writable, and accounted") {
  for (PoolKind kind : {PoolKind::kGang, PoolKind::kPercpu, PoolKind::kMalloc}) {
    const std::string kind_name = to_string(kind);
    CAPTURE(kind_name);
    PoolOptions o;
    o.kind = kind;
    auto pool = make_page_pool(o);
    CHECK(pool->options().kind == kind);
    std::vector<void*> pages;
    for (int i = 0; i < 1000; ++i) {
      void* p = pool->alloc_page();
      REQUIRE(p != nullptr);
      CHECK(page_aligned(p));
      std::memset(p, i & 0xff, kBlockSize);
      pages.push_back(p);
    }
    std::vector<void*> sorted = pages;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    for (size_t i = 0; i < pages.size(); ++i) CHECK(static_cast<unsigned char*>(pages[i])[kBlockSize - 1] == (i & 0xff));
    PoolStats s = pool->stats();
    CHECK(s.allocs == 1000);
    CHECK(s.pages_in_use == 1000);
    for (void* p : pages) pool->free_page(p);
    check_balanced(*pool);
  }
}

TEST_CASE("gang pool: the thread cache serves repeats, refills and drains in gangs") {
  PoolOptions o;
  o.gang_pages = 32;
  auto pool = make_page_pool(o);
  void* first = pool->alloc_page();  // refill: 32 pages move to the cache, one is handed out
  PoolStats s = pool->stats();
  CHECK(s.refills == 1);
  CHECK(s.thread_hits == 0);
  CHECK(s.pages_cached == 31);
  CHECK(s.pages_in_use == 1);
  // The cache hands the refill out in address order.
  void* second = pool->alloc_page();
  CHECK(static_cast<char*>(second) == static_cast<char*>(first) + kBlockSize);
  pool->free_page(second);
  pool->free_page(first);
  for (int i = 0; i < 10000; ++i) pool->free_page(pool->alloc_page());
  s = pool->stats();
  CHECK(s.refills == 1);  // the hot loop never went to the depot
  CHECK(s.thread_hits == 10001);
  CHECK(s.drains == 0);

  // Freeing more than the cache holds (2 x 32) drains the coldest pages in gangs of 32.
  std::vector<void*> many(200);
  for (void*& p : many) p = pool->alloc_page();
  for (void* p : many) pool->free_page(p);
  s = pool->stats();
  CHECK(s.drains >= 2);
  CHECK(s.pages_cached <= 64);
  CHECK(s.refills >= 1 + (200 - 32) / 32);
  check_balanced(*pool);
}

TEST_CASE("percpu pool: refills are single pages") {
  PoolOptions o;
  o.kind = PoolKind::kPercpu;
  auto pool = make_page_pool(o);
  std::vector<void*> pages(10);
  for (void*& p : pages) p = pool->alloc_page();
  PoolStats s = pool->stats();
  CHECK(s.refills == 10);
  CHECK(s.pages_cached == 0);
  for (void* p : pages) pool->free_page(p);
  for (void*& p : pages) p = pool->alloc_page();
  CHECK(pool->stats().thread_hits == 10);
  for (void* p : pages) pool->free_page(p);
  check_balanced(*pool);
}

TEST_CASE("gang pool: alloc_gang is address ordered, contiguous, and leaves the thread cache alone") {
  auto pool = make_page_pool({});
  void* single = pool->alloc_page();  // the thread cache now holds a gang minus one
  uint64_t cached = pool->stats().pages_cached;
  REQUIRE(cached > 0);

  std::vector<void*> gang(64);
  pool->alloc_gang(gang);
  for (size_t i = 1; i < gang.size(); ++i) CHECK(static_cast<char*>(gang[i]) == static_cast<char*>(gang[i - 1]) + kBlockSize);
  CHECK(count_runs(gang) == 1);
  PoolStats s = pool->stats();
  CHECK(s.pages_cached == cached);
  CHECK(s.gang_allocs == 1);
  CHECK(s.gang_runs == 1);
  CHECK(s.refills == 1);
  CHECK(s.pages_in_use == 65);
  for (void* p : gang) CHECK(p != single);

  // Gang pages may be freed one by one, on the per-thread path.
  for (void* p : gang) pool->free_page(p);
  pool->free_page(single);
  check_balanced(*pool);
}

TEST_CASE("gang pool: pages freed on another thread go home and the accounting balances") {
  PoolOptions o;
  o.gang_pages = 16;
  auto pool = make_page_pool(o);
  std::vector<void*> pages(1000);
  for (void*& p : pages) p = pool->alloc_page();
  std::thread t([&] {
    for (void* p : pages) pool->free_page(p);
  });
  t.join();
  // The other thread drained in gangs while freeing and returned the rest at its exit.
  PoolStats s = pool->stats();
  CHECK(s.drains >= (1000 - 32) / 16);
  CHECK(s.frees == 1000);
  CHECK(s.pages_in_use == 0);
  pool->flush_thread_cache();
  s = pool->stats();
  CHECK(s.pages_cached == 0);
  check_balanced(*pool);
}

TEST_CASE("gang pool: thread exit returns the thread's cached pages to the depot") {
  auto pool = make_page_pool({});
  std::thread t([&] {
    void* p = pool->alloc_page();
    pool->free_page(p);
    CHECK(pool->stats().pages_cached > 0);
  });
  t.join();
  PoolStats s = pool->stats();
  CHECK(s.pages_cached == 0);
  CHECK(s.pages_in_use == 0);
  CHECK(s.allocs == 1);
  CHECK(s.frees == 1);
  CHECK(s.thread_hits == 0);
  CHECK(s.refills == 1);
}

TEST_CASE("gang pool: destroying the pool while a thread that used it is still alive is safe") {
  std::mutex mu;
  std::condition_variable cv;
  bool used = false, destroyed = false;
  auto pool = make_page_pool({});
  std::thread t([&] {
    pool->free_page(pool->alloc_page());  // this thread now caches pages of the pool
    std::unique_lock lock(mu);
    used = true;
    cv.notify_all();
    cv.wait(lock, [&] { return destroyed; });
    // A new pool afterwards works on the same thread (the stale cache is pruned, not reused).
    auto next = make_page_pool({});
    void* p = next->alloc_page();
    std::memset(p, 1, kBlockSize);
    next->free_page(p);
    CHECK(next->stats().allocs == 1);
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return used; });
  }
  pool.reset();
  {
    std::lock_guard lock(mu);
    destroyed = true;
  }
  cv.notify_all();
  t.join();  // its thread-exit hook must skip the dead pool (ASan would see a use after free)
}

TEST_CASE("gang pool: double frees and foreign pointers are counted, not trusted") {
  PoolOptions o;
  o.gang_pages = 4;
  auto pool = make_page_pool(o);
  std::vector<void*> gang(8);
  pool->alloc_gang(gang);
  pool->free_gang(gang);
  pool->free_gang(std::span<void* const>(gang).first(2));  // twice
  alignas(4096) static char foreign[4096];
  void* f = foreign;
  pool->free_gang(std::span<void* const>(&f, 1));
  PoolStats s = pool->stats();
  CHECK(s.bad_frees == 3);
  CHECK(s.pages_in_use == 0);
  // The depot still hands each page out once.
  std::vector<void*> again(16);
  pool->alloc_gang(again);
  std::sort(again.begin(), again.end());
  CHECK(std::adjacent_find(again.begin(), again.end()) == again.end());
  pool->free_gang(again);
}

TEST_CASE("many pools on one thread keep their caches apart") {
  auto a = make_page_pool({});
  auto b = make_page_pool({});
  void* pa = a->alloc_page();
  void* pb = b->alloc_page();
  a->free_page(pa);
  b->free_page(pb);
  CHECK(a->alloc_page() == pa);
  CHECK(b->alloc_page() == pb);
  a->free_page(pa);
  b->free_page(pb);
  check_balanced(*a);
  check_balanced(*b);
}

TEST_CASE("statistics visit every field once") {
  PoolStats s;
  s.allocs = 3;
  s.byte_cap = 9;
  int fields = 0;
  uint64_t sum = 0;
  s.visit([&](const char* name, uint64_t v) {
    CHECK(std::strlen(name) > 0);
    ++fields;
    sum += v;
  });
  CHECK(fields == 17);
  CHECK(sum == 12);
}
