#include "mem/arena.h"

#include <doctest/doctest.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <cstring>
#include <vector>

using chainfs::mem::Arena;
using chainfs::mem::kHugePageSize;
using chainfs::kBlockSize;

TEST_CASE("arena: mapping is 2 MiB aligned, pages are writable and taken in address order") {
  auto a = Arena::map(1);  // rounds up to one huge page
  REQUIRE(a);
  CHECK(reinterpret_cast<uintptr_t>(a->base()) % kHugePageSize == 0);
  CHECK(a->page_count() == kHugePageSize / kBlockSize);
  CHECK(a->free_count() == a->page_count());

  std::vector<void*> pages(100);
  REQUIRE(a->take(100, pages.data()) == 100);
  for (size_t i = 0; i < pages.size(); ++i) {
    CHECK(pages[i] == a->base() + i * kBlockSize);
    std::memset(pages[i], static_cast<int>(i), kBlockSize);
  }
  CHECK(a->free_count() == a->page_count() - 100);
  CHECK(a->contains(pages[0]));
  CHECK_FALSE(a->contains(a->base() + a->page_count() * kBlockSize));
}

TEST_CASE("arena: freed pages are reused lowest first, double frees are refused") {
  auto a = Arena::map(kHugePageSize);
  REQUIRE(a);
  std::vector<void*> pages(130);
  REQUIRE(a->take(130, pages.data()) == 130);
  CHECK(a->put(pages[70]));
  CHECK(a->put(pages[5]));
  CHECK_FALSE(a->put(pages[5]));
  void* again[3];
  REQUIRE(a->take(3, again) == 3);
  CHECK(again[0] == pages[5]);
  CHECK(again[1] == pages[70]);
  CHECK(again[2] == a->base() + 130 * kBlockSize);
}

TEST_CASE("arena: take_run finds the lowest run that is long enough, across bitmap words") {
  auto a = Arena::map(kHugePageSize);
  REQUIRE(a);
  const size_t n = a->page_count();
  std::vector<void*> all(n);
  REQUIRE(a->take(n, all.data()) == n);
  CHECK(a->take_run(1) == nullptr);
  // Free runs: [10,13) (3 pages), [60,140) (80 pages, crosses two word boundaries), [200,210).
  for (size_t i = 10; i < 13; ++i) a->put(all[i]);
  for (size_t i = 60; i < 140; ++i) a->put(all[i]);
  for (size_t i = 200; i < 210; ++i) a->put(all[i]);
  CHECK(a->take_run(4) == a->base() + 60 * kBlockSize);  // skips the 3-page hole
  CHECK(a->take_run(3) == a->base() + 10 * kBlockSize);  // the hole fits 3
  CHECK(a->take_run(76) == a->base() + 64 * kBlockSize);
  CHECK(a->take_run(11) == nullptr);
  CHECK(a->take_run(10) == a->base() + 200 * kBlockSize);
  CHECK(a->free_count() == 0);
}

TEST_CASE("arena: the mapping carries the huge page advice (VmFlags hg in smaps)") {
  auto a = Arena::map(4 * kHugePageSize);
  REQUIRE(a);
  std::memset(a->base(), 1, kBlockSize);
  std::ifstream smaps("/proc/self/smaps");
  REQUIRE(smaps);
  auto base = reinterpret_cast<uintptr_t>(a->base());
  std::string line;
  bool in_vma = false, found = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      in_vma = lo <= base && base < hi;
      if (in_vma) CHECK(hi - lo >= 4 * kHugePageSize);
      continue;
    }
    if (in_vma && line.rfind("VmFlags:", 0) == 0) {
      found = true;
      CHECK(line.find(" hg") != std::string::npos);
    }
  }
  CHECK(found);
}
