// Timings of the B-tree over an in-memory store. Printed, never asserted.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "fs/btree/btree.h"
#include "test/fs/btree/mem_store.h"
#include "test/fs/btree/tree_util.h"

using namespace chainfs::btree;
using namespace chainfs::btree::test;

namespace {

// Wall and CPU time of a phase: the machine is shared, so CPU time is the fairer number.
struct Timer {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  std::clock_t cpu = std::clock();
  std::string str() const {
    const double w = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall).count();
    const double c = 1000.0 * static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f ms (cpu %.0f ms)", w, c);
    return buf;
  }
};

}  // namespace

TEST_CASE("btree: timings: 100000 random inserts and lookups with 40-byte values") {
  const int n = 100000;
  MemStore s;
  BTree t(s, 0, 31);
  std::mt19937_64 rng(1);
  std::vector<uint64_t> keys(n);
  for (auto& k : keys) k = rng();
  const std::string value(40, 'v');

  Timer t0;
  for (uint64_t k : keys) REQUIRE(t.insert(k, value, false) == 0);
  const std::string insert_ms = t0.str();
  const uint64_t writes = s.writes, reads = s.reads;

  std::shuffle(keys.begin(), keys.end(), rng);
  std::string v;
  t0 = Timer{};
  for (uint64_t k : keys) REQUIRE(t.lookup(k, &v) == 0);
  const std::string lookup_ms = t0.str();

  t0 = Timer{};
  size_t seen = 0;
  REQUIRE(t.scan(0, [&](uint64_t, std::string_view) { return ++seen, true; }) == 0);
  const std::string scan_ms = t0.str();
  CHECK(seen == static_cast<size_t>(n));

  t0 = Timer{};
  for (uint64_t k : keys) REQUIRE(t.remove(k) == 0);
  const std::string remove_ms = t0.str();
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);

  MESSAGE("btree " << n << " random keys, 40 B values: insert " << insert_ms << " (" << reads << " block reads, "
                   << writes << " writes), lookup " << lookup_ms << ", full scan " << scan_ms << ", remove "
                   << remove_ms);
}

TEST_CASE("btree: timings: 100000 sequential appends (extent-map pattern)") {
  const uint64_t n = 100000;
  MemStore s;
  BTree t(s, 0, 32);
  const std::string value(20, 'e');
  Timer t0;
  for (uint64_t k = 0; k < n; ++k) REQUIRE(t.insert(k * 8, value, false) == 0);
  const std::string insert_ms = t0.str();
  std::string v;
  t0 = Timer{};
  for (uint64_t k = 0; k < n; ++k) REQUIRE(t.lookup(k * 8, &v) == 0);
  const std::string lookup_ms = t0.str();
  MESSAGE("btree " << n << " sequential keys, 20 B values: insert " << insert_ms << ", lookup " << lookup_ms
                   << ", " << s.in_use << " blocks");
  CHECK(t.destroy() == 0);
  CHECK(s.in_use == 0);
}
