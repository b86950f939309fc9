#include "mem/depot.h"

#include <doctest/doctest.h>

#include <vector>

using chainfs::mem::count_runs;
using chainfs::mem::Depot;
using chainfs::mem::kHugePageSize;
using chainfs::kBlockSize;

TEST_CASE("depot: grows by arenas on demand and hands pages out in address order") {
  Depot d(kHugePageSize);
  CHECK(d.arena_count() == 0);
  const size_t per_arena = kHugePageSize / kBlockSize;
  std::vector<void*> pages(per_arena + 10);
  REQUIRE(d.take(per_arena, pages.data()));
  CHECK(d.arena_count() == 1);
  REQUIRE(d.take(10, pages.data() + per_arena));
  CHECK(d.arena_count() == 2);
  CHECK(d.mapped_pages() == 2 * per_arena);
  CHECK(d.free_pages() == per_arena - 10);
  for (size_t i = 1; i < per_arena; ++i) CHECK(pages[i] > pages[i - 1]);
  // A request larger than an arena maps one arena big enough for it.
  std::vector<void*> big(2 * per_arena);
  REQUIRE(d.take(big.size(), big.data()));
  CHECK(d.arena_count() == 3);
  d.put(big);
  d.put(pages);
  CHECK(d.free_pages() == d.mapped_pages());
  CHECK(d.bad_frees() == 0);
}

TEST_CASE("depot: take_run is contiguous; it maps a new arena only when free pages are short") {
  Depot d(kHugePageSize);
  const size_t per_arena = kHugePageSize / kBlockSize;
  std::vector<void*> pages(per_arena);
  REQUIRE(d.take(per_arena, pages.data()));
  // Free every other page: plenty of free pages, no run of 2.
  std::vector<void*> odd;
  for (size_t i = 1; i < per_arena; i += 2) odd.push_back(pages[i]);
  d.put(odd);
  CHECK(d.take_run(2) == nullptr);
  CHECK(d.arena_count() == 1);
  // More than the free pages: a fresh arena supplies the run.
  char* run = d.take_run(per_arena);
  REQUIRE(run != nullptr);
  CHECK(d.arena_count() == 2);
  std::vector<void*> run_pages;
  for (size_t i = 0; i < per_arena; ++i) run_pages.push_back(run + i * kBlockSize);
  CHECK(count_runs(run_pages) == 1);
}

TEST_CASE("depot: foreign pointers and double frees are counted and ignored") {
  Depot d(kHugePageSize);
  void* p = nullptr;
  REQUIRE(d.take(1, &p));
  int local = 0;
  d.put(&local);
  d.put(p);
  d.put(p);
  CHECK(d.bad_frees() == 2);
  CHECK(d.free_pages() == d.mapped_pages());
}

TEST_CASE("count_runs") {
  alignas(4096) static char buf[8 * 4096];
  std::vector<void*> v = {buf, buf + 4096, buf + 3 * 4096, buf + 4 * 4096, buf + 7 * 4096};
  CHECK(count_runs(v) == 3);
  CHECK(count_runs({}) == 0);
}
