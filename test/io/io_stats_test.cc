#include "io/io_stats.h"

#include <doctest/doctest.h>

#include "io/block_stat.h"

using namespace chainfs;
using io::LatencyHistogram;

TEST_CASE("latency histogram buckets are ordered and percentiles are within a bucket") {
  for (uint64_t ns : {2ull, 3ull, 4ull, 5ull, 7ull, 100ull, 1000ull, 123456ull, 1ull << 35}) {
    int b = LatencyHistogram::bucket_of(ns);
    CHECK(LatencyHistogram::upper_bound(b) >= ns);
    if (b > 0) CHECK(LatencyHistogram::upper_bound(b - 1) < ns);
  }
  LatencyHistogram h;
  for (uint64_t i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1 us .. 1 ms
  CHECK(h.count() == 1000);
  uint64_t p50 = h.percentile(0.5), p99 = h.percentile(0.99);
  CHECK(p50 >= 500000);
  CHECK(p50 <= 500000 * 5 / 4);
  CHECK(p99 >= 990000);
  CHECK(p99 <= 1000000);  // capped by the max
  CHECK(h.max() == 1000000);
}

TEST_CASE("IoStats counts and averages, JSON has the fields") {
  io::IoStats s;
  s.on_submit(io::BioOp::kWrite, 1 << 20, 16, 1);
  s.on_submit(io::BioOp::kWrite, 512 << 10, 8, 3);
  s.on_submit(io::BioOp::kFlush, 0, 0, 2);
  s.on_complete(1000, 0);
  s.on_complete(2000, -EIO);
  s.on_merge();
  s.on_split(io::SplitReason::kBoundary);
  s.on_backup_wait();
  auto snap = s.snapshot();
  CHECK(snap.submissions == 3);
  CHECK(snap.avg_write_bytes() == doctest::Approx(768 * 1024));
  CHECK(snap.avg_segments() == doctest::Approx(12));
  CHECK(snap.in_flight_hwm == 3);
  CHECK(snap.errors == 1);
  auto j = s.to_json();
  CHECK(j["write_bytes"] == (1 << 20) + (512 << 10));
  CHECK(j["splits_boundary"] == 1);
  CHECK(j["backup_waits"] == 1);
  CHECK(j["merges"] == 1);
  CHECK(j["latency_ns"]["max"] == 2000);
  s.reset();
  CHECK(s.snapshot().submissions == 0);
}

TEST_CASE("block stat parsing and deltas") {
  io::BlockStat a, b;
  REQUIRE(io::parse_block_stat("  10 1 80 5 20 2 40960 7 0 12 14 0 0 0 0 3 1\n", &a) == 0);
  REQUIRE(io::parse_block_stat("  12 1 96 5 30 2 61440 9 1 15 20 0 0 0 0 4 1\n", &b) == 0);
  CHECK(a.write_ios == 20);
  CHECK(a.write_sectors == 40960);
  CHECK(a.flush_ios == 3);
  CHECK(a.avg_write_bytes() == doctest::Approx(40960.0 * 512 / 20));
  auto d = b - a;
  CHECK(d.write_ios == 10);
  CHECK(d.write_sectors == 20480);
  CHECK(d.read_ios == 2);
  CHECK(d.flush_ios == 1);
  CHECK(io::parse_block_stat("1 2 3", &a) == -EINVAL);
  CHECK(io::read_block_stat("no-such-dev", &a) == -ENOENT);
  CHECK(io::read_block_stat("/dev/null", &a) == -ENOTBLK);
}
