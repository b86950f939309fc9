// StreamDetector: the contiguous dirty run and when it is handed to writeback.
#include "fs/cache/stream_detector.h"

#include <doctest/doctest.h>

using chainfs::cache::StreamDetector;

TEST_CASE("a run contiguous on both sides is handed over at the largest request, then starts over") {
  StreamDetector s;
  for (uint64_t b = 0; b < 3; ++b) CHECK_FALSE(s.on_dirty(b, 100 + b, 4));
  auto run = s.on_dirty(3, 103, 4);
  REQUIRE(run);
  CHECK(run->first == 0);
  CHECK(run->last == 3);
  CHECK(s.length() == 0);
  for (uint64_t b = 4; b < 7; ++b) CHECK_FALSE(s.on_dirty(b, 100 + b, 4));
  run = s.on_dirty(7, 107, 4);
  REQUIRE(run);
  CHECK(run->first == 4);
  CHECK(run->last == 7);
}

TEST_CASE("a physical gap starts a new run") {
  StreamDetector s;
  s.on_dirty(0, 100, 8);
  s.on_dirty(1, 101, 8);
  s.on_dirty(2, 500, 8);  // logically next, physically elsewhere
  CHECK(s.length() == 1);
  s.on_dirty(3, 501, 8);
  CHECK(s.length() == 2);
}

TEST_CASE("a logical gap starts a new run") {
  StreamDetector s;
  s.on_dirty(0, 100, 8);
  s.on_dirty(1, 101, 8);
  s.on_dirty(5, 102, 8);
  CHECK(s.length() == 1);
}

TEST_CASE("rewriting a block of the run keeps the run") {
  StreamDetector s;
  for (uint64_t b = 0; b < 4; ++b) s.on_dirty(b, 100 + b, 8);
  CHECK_FALSE(s.on_dirty(1, 101, 8));
  CHECK(s.length() == 4);
  CHECK_FALSE(s.on_dirty(4, 104, 8));
  CHECK(s.length() == 5);
}

TEST_CASE("a largest request of one page hands over every block") {
  StreamDetector s;
  for (uint64_t b = 0; b < 4; ++b) {
    auto run = s.on_dirty(b, 100 + b, 1);
    REQUIRE(run);
    CHECK(run->first == b);
    CHECK(run->last == b);
  }
}

TEST_CASE("forget ends a run that overlaps the blocks, and only such a run") {
  StreamDetector s;
  for (uint64_t b = 10; b < 14; ++b) s.on_dirty(b, 100 + b, 8);  // run [10, 13]
  s.forget(0, 9);
  CHECK(s.length() == 4);
  s.forget(14, 20);
  CHECK(s.length() == 4);
  s.forget(13, 13);
  CHECK(s.length() == 0);
  for (uint64_t b = 10; b < 14; ++b) s.on_dirty(b, 100 + b, 8);
  s.forget(0, UINT64_MAX);
  CHECK(s.length() == 0);
}
