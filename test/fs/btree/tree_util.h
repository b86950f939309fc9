#pragma once
// Helpers shared by the B-tree tests: model comparison, block listing, values.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fs/btree/btree.h"
#include "test/fs/btree/mem_store.h"

namespace chainfs::btree::test {

using Model = std::map<uint64_t, std::string>;

// A value whose bytes depend on key and a version, so stale data is detected.
inline std::string make_value(uint64_t key, uint32_t version, size_t len) {
  std::string v(len, '\0');
  uint64_t x = key * 0x9E3779B97F4A7C15ull + version;
  for (size_t i = 0; i < len; ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    v[i] = static_cast<char>(x >> 56);
  }
  return v;
}

// Mostly small values, some medium, a few of the maximum size.
inline size_t random_len(std::mt19937_64& rng) {
  const unsigned r = rng() % 100;
  if (r < 70) return rng() % 48;
  if (r < 95) return rng() % 400;
  if (r < 98) return kMaxValue;
  return rng() % (kMaxValue + 1);
}

inline std::vector<uint64_t> tree_blocks(BTree& t) {
  std::vector<uint64_t> blocks;
  std::string why;
  int rc = t.check([&](uint64_t b) { blocks.push_back(b); }, &why);
  INFO(why);
  REQUIRE(rc == 0);
  return blocks;
}

// Full structural check plus an exact comparison of the contents with the model.
inline void expect_matches(BTree& t, const Model& m) {
  std::string why;
  const int rc = t.check({}, &why);
  INFO("check: " << why);
  REQUIRE(rc == 0);
  auto it = m.begin();
  size_t seen = 0;
  bool ok = true;
  REQUIRE(t.scan(0, [&](uint64_t k, std::string_view v) {
    if (it == m.end() || it->first != k || it->second != v) {
      ok = false;
      return false;
    }
    ++it, ++seen;
    return true;
  }) == 0);
  CHECK(ok);
  CHECK(seen == m.size());
  CHECK(it == m.end());
  if (m.empty()) CHECK(t.root() == 0);
}

}  // namespace chainfs::btree::test
