// Readahead: which reads count as sequential, how the window grows, and what is fetched.
#include "fs/cache/readahead.h"

#include <doctest/doctest.h>

using chainfs::cache::Readahead;

namespace {
constexpr uint64_t kNoLimit = UINT64_MAX;
constexpr uint64_t kBigFetch = 1024;
}  // namespace

TEST_CASE("a read at the file's start opens a window of 4 past it") {
  Readahead ra;
  auto r = ra.on_read(0, 1, kNoLimit, 256, kBigFetch);
  CHECK(r.from == 1);
  CHECK(r.to == 5);
  CHECK(ra.window() == 4);
}

TEST_CASE("sequential reads double the window up to the largest and fetch past what was read ahead") {
  Readahead ra;
  uint64_t b = 0, fetched_to = 0;
  uint32_t last_window = 0;
  for (int i = 0; i < 200; ++i, b += 4) {
    auto r = ra.on_read(b, b + 4, kNoLimit, 64, kBigFetch);
    CHECK(ra.window() >= last_window);
    CHECK(ra.window() <= 64);
    last_window = ra.window();
    if (r.to > r.from) {
      CHECK(r.from == std::max(b + 4, fetched_to));  // never fetches a block twice
      CHECK(r.to - r.from == ra.window());
      fetched_to = r.to;
    }
    CHECK(fetched_to >= b + 4);  // what the stream reads next is always on its way
  }
  CHECK(ra.window() == 64);
}

TEST_CASE("no fetch while at least half a window is already read ahead") {
  Readahead ra;
  ra.on_read(0, 1, kNoLimit, 8, kBigFetch);      // window 4: fetches [1, 5)
  auto r = ra.on_read(1, 2, kNoLimit, 8, kBigFetch);  // window 8, 3 blocks ahead < 4: fetches
  CHECK(r.from == 5);
  CHECK(r.to == 13);
  r = ra.on_read(2, 3, kNoLimit, 8, kBigFetch);  // 10 ahead: nothing
  CHECK(r.from == r.to);
}

TEST_CASE("a read far from the stream ends it") {
  Readahead ra;
  ra.on_read(0, 4, kNoLimit, 256, kBigFetch);
  ra.on_read(4, 8, kNoLimit, 256, kBigFetch);
  auto r = ra.on_read(1000, 1004, kNoLimit, 256, kBigFetch);
  CHECK(r.from == r.to);
  CHECK(ra.window() == 0);
  // The block after the random read continues a new stream from there.
  r = ra.on_read(1004, 1008, kNoLimit, 256, kBigFetch);
  CHECK(r.from == 1008);
  CHECK(r.to == 1012);
}

TEST_CASE("reads arriving a little out of order stay sequential") {
  Readahead ra;
  ra.on_read(0, 4, kNoLimit, 256, kBigFetch);
  ra.on_read(8, 12, kNoLimit, 256, kBigFetch);  // skipped [4, 8): within one read of the stream
  CHECK(ra.window() == 8);
  ra.on_read(4, 8, kNoLimit, 256, kBigFetch);  // the skipped one, late
  CHECK(ra.window() == 16);
}

TEST_CASE("the fetch stays inside the mapped run and under the per-call cap") {
  Readahead ra;
  auto r = ra.on_read(0, 1, 3, 256, kBigFetch);
  CHECK(r.from == 1);
  CHECK(r.to == 3);
  Readahead capped;
  for (uint64_t b = 0; b < 64; ++b) {
    r = capped.on_read(b, b + 1, kNoLimit, 256, 2);
    CHECK(r.to - r.from <= 2);
  }
  // At the end of the run the fetch is empty, never backwards.
  Readahead end;
  r = end.on_read(0, 10, 10, 256, kBigFetch);
  CHECK(r.from == 10);
  CHECK(r.to == 10);
}

TEST_CASE("a largest window of 0 turns readahead off") {
  Readahead ra;
  for (uint64_t b = 0; b < 16; ++b) {
    auto r = ra.on_read(b, b + 1, kNoLimit, 0, kBigFetch);
    CHECK(r.from == r.to);
  }
  CHECK(ra.window() == 0);
}

TEST_CASE("after reset a read past the start is not sequential, one at the start is") {
  Readahead ra;
  ra.on_read(0, 4, kNoLimit, 256, kBigFetch);
  ra.reset();
  auto r = ra.on_read(4, 8, kNoLimit, 256, kBigFetch);
  CHECK(r.from == r.to);
  ra.reset();
  r = ra.on_read(0, 4, kNoLimit, 256, kBigFetch);
  CHECK(r.from == 4);
  CHECK(r.to == 8);
}
