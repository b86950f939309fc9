// DirtyThrottle: the dirty limit from the options and the pool's cap, and its two thresholds.
#include "fs/cache/throttle.h"

#include <doctest/doctest.h>

using chainfs::cache::DirtyThrottle;

TEST_CASE("the configured limit wins, in pages, at least one") {
  CHECK(DirtyThrottle(8 * 4096, 1000, 4096).limit_pages() == 8);
  CHECK(DirtyThrottle(100, 1000, 4096).limit_pages() == 1);
}

TEST_CASE("without a configured limit: a quarter of the cap, or 256 MiB without a cap") {
  CHECK(DirtyThrottle(0, 1000, 4096).limit_pages() == 250);
  CHECK(DirtyThrottle(0, 3, 4096).limit_pages() == 1);
  CHECK(DirtyThrottle(0, 0, 4096).limit_pages() == (uint64_t{256} << 20) / 4096);
}

TEST_CASE("the flusher wakes past the limit, a writer is throttled past twice the limit") {
  DirtyThrottle t(10 * 4096, 0, 4096);
  CHECK_FALSE(t.wake_flusher(10));
  CHECK(t.wake_flusher(11));
  CHECK_FALSE(t.throttle_writer(20));
  CHECK(t.throttle_writer(21));
}
