#include "fs/btree/btree.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "fs/btree/node.h"
#include "test/fs/btree/mem_store.h"
#include "test/fs/btree/tree_util.h"

using namespace chainfs::btree;
using chainfs::kBlockSize;
using namespace chainfs::btree::test;

namespace {

unsigned root_level(MemStore& s, BTree& t) {
  uint8_t b[kBlockSize];
  REQUIRE(s.read_block(t.root(), b) == 0);
  return node::level(b);
}

}  // namespace

TEST_CASE("btree: empty tree") {
  MemStore s;
  BTree t(s, 0, 7);
  std::string v;
  CHECK(t.lookup(1, &v) == -ENOENT);
  CHECK(t.remove(1) == -ENOENT);
  int calls = 0;
  CHECK(t.scan(0, [&](uint64_t, std::string_view) { return ++calls, true; }) == 0);
  CHECK(calls == 0);
  CHECK(t.check({}, nullptr) == 0);
  CHECK(t.destroy() == 0);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
}

TEST_CASE("btree: insert lookup replace and remove one key") {
  MemStore s;
  BTree t(s, 0, 7);
  CHECK(t.insert(42, "hello", false) == 0);
  CHECK(t.root() != 0);
  CHECK(s.in_use == 1);
  std::string v;
  CHECK(t.lookup(42, &v) == 0);
  CHECK(v == "hello");
  CHECK(t.lookup(42, nullptr) == 0);
  CHECK(t.lookup(41, &v) == -ENOENT);
  CHECK(t.lookup(43, &v) == -ENOENT);
  CHECK(t.insert(42, "other", false) == -EEXIST);
  CHECK(t.lookup(42, &v) == 0);
  CHECK(v == "hello");
  CHECK(t.insert(42, "replaced", true) == 0);
  CHECK(t.lookup(42, &v) == 0);
  CHECK(v == "replaced");
  const uint64_t writes = s.writes;
  CHECK(t.insert(42, "replaced", true) == 0);  // unchanged value: no write
  CHECK(s.writes == writes);
  CHECK(t.insert(0, "", false) == 0);
  CHECK(t.insert(UINT64_MAX, "max", false) == 0);
  CHECK(t.lookup(0, &v) == 0);
  CHECK(v.empty());
  CHECK(t.lookup(UINT64_MAX, &v) == 0);
  CHECK(v == "max");
  CHECK(t.remove(42) == 0);
  CHECK(t.remove(42) == -ENOENT);
  CHECK(t.remove(0) == 0);
  CHECK(t.remove(UINT64_MAX) == 0);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
}

TEST_CASE("btree: value size limits") {
  MemStore s;
  BTree t(s, 0, 7);
  CHECK(t.insert(1, std::string(kMaxValue + 1, 'x'), false) == -E2BIG);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
  // Many maximal values: every leaf holds at most three, so this splits constantly.
  Model m;
  for (uint64_t k = 0; k < 600; ++k) {
    const uint64_t key = (k * 7919) % 600;
    m[key] = make_value(key, 1, kMaxValue);
    REQUIRE(t.insert(key, m[key], false) == 0);
  }
  expect_matches(t, m);
  CHECK(root_level(s, t) >= 1);
  CHECK(s.in_use == static_cast<int64_t>(tree_blocks(t).size()));
  // Replace with small values and back with maximal ones (shrinking then overflowing leaves).
  for (auto& [k, v] : m) {
    v = make_value(k, 2, k % 5);
    REQUIRE(t.insert(k, v, true) == 0);
  }
  expect_matches(t, m);
  for (auto& [k, v] : m) {
    v = make_value(k, 3, kMaxValue - k % 3);
    REQUIRE(t.insert(k, v, true) == 0);
  }
  expect_matches(t, m);
  for (auto& [k, v] : m) REQUIRE(t.remove(k) == 0);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
  CHECK(s.bad_frees == 0);
}

// Random operations against std::map, with a structural check after every batch and a
// leak check (blocks in use == blocks reachable) throughout.
TEST_CASE("btree: randomized operations match a std::map model") {
  struct Config {
    uint64_t seed;
    uint64_t key_space;  // 0 = full 64-bit keys
    int ops;
  };
  const Config configs[] = {{1, 5000, 120000}, {2, 0, 80000}, {3, 300, 60000}, {4, 40000, 120000}};
  for (const Config& cfg : configs) {
    CAPTURE(cfg.seed);
    MemStore s;
    BTree t(s, 0, 100 + cfg.seed);
    Model m;
    std::mt19937_64 rng(cfg.seed);
    std::vector<uint64_t> keys;  // keys inserted at some point, for hits on remove/lookup
    auto random_key = [&]() -> uint64_t {
      if (!keys.empty() && rng() % 2) return keys[rng() % keys.size()];
      const uint64_t k = cfg.key_space ? rng() % cfg.key_space : rng();
      keys.push_back(k);
      return k;
    };
    uint32_t version = 0;
    for (int op = 0; op < cfg.ops; ++op) {
      // Phases: grow, mixed, shrink, so the tree gets deep and then collapses.
      const int phase = (op * 3) / cfg.ops;
      const unsigned r = rng() % 100;
      const unsigned insert_pct = phase == 0 ? 70 : phase == 1 ? 45 : 15;
      const uint64_t k = random_key();
      if (r < insert_pct) {
        const bool replace = rng() % 2;
        std::string v = make_value(k, ++version, random_len(rng));
        const int rc = t.insert(k, v, replace);
        const bool had = m.count(k) != 0;
        if (had && !replace) {
          REQUIRE(rc == -EEXIST);
        } else {
          REQUIRE(rc == 0);
          m[k] = std::move(v);
        }
      } else if (r < 90) {
        const int rc = t.remove(k);
        REQUIRE(rc == (m.erase(k) ? 0 : -ENOENT));
      } else {
        std::string v;
        const int rc = t.lookup(k, &v);
        auto it = m.find(k);
        if (it == m.end()) {
          REQUIRE(rc == -ENOENT);
        } else {
          REQUIRE(rc == 0);
          REQUIRE(v == it->second);
        }
      }
      if (op % 5000 == 4999) {
        expect_matches(t, m);
        REQUIRE(s.in_use == static_cast<int64_t>(tree_blocks(t).size()));
      }
    }
    expect_matches(t, m);
    // Remove the rest in random order: the tree must end empty with nothing allocated.
    std::vector<uint64_t> rest;
    for (auto& kv : m) rest.push_back(kv.first);
    std::shuffle(rest.begin(), rest.end(), rng);
    for (size_t i = 0; i < rest.size(); ++i) {
      REQUIRE(t.remove(rest[i]) == 0);
      m.erase(rest[i]);
      if (i % 3000 == 0) expect_matches(t, m);
    }
    CHECK(t.root() == 0);
    CHECK(s.in_use == 0);
    CHECK(s.bad_frees == 0);
    CHECK(s.bad_writes == 0);
  }
}

TEST_CASE("btree: scan from arbitrary starts with early stop") {
  MemStore s;
  BTree t(s, 0, 9);
  Model m;
  std::mt19937_64 rng(77);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t k = rng() % 1000000;
    std::string v = make_value(k, 0, random_len(rng) % 200);
    if (t.insert(k, v, false) == 0) m[k] = v;
  }
  expect_matches(t, m);
  for (int q = 0; q < 2000; ++q) {
    const uint64_t start = q < 5 ? std::vector<uint64_t>{0, 1, 999999, 1000000, UINT64_MAX}[q] : rng() % 1000100;
    const size_t limit = rng() % 700;
    std::vector<std::pair<uint64_t, std::string>> got;
    REQUIRE(t.scan(start, [&](uint64_t k, std::string_view v) {
      got.emplace_back(k, std::string(v));
      return got.size() < limit;
    }) == 0);
    auto it = m.lower_bound(start);
    size_t i = 0;
    for (; i < got.size(); ++i, ++it) {
      REQUIRE(it != m.end());
      REQUIRE(got[i].first == it->first);
      REQUIRE(got[i].second == it->second);
    }
    // It stopped either when told to or at the end of the tree.
    CHECK((got.size() == std::max<size_t>(limit, 1) || it == m.end()));
    if (limit == 0) CHECK(got.size() == (m.lower_bound(start) == m.end() ? 0 : 1));
  }
}

TEST_CASE("btree: remove everything in several orders leaves root 0 and no blocks") {
  for (int order = 0; order < 3; ++order) {
    CAPTURE(order);
    MemStore s;
    BTree t(s, 0, 11);
    std::vector<uint64_t> keys;
    for (uint64_t k = 0; k < 30000; ++k) keys.push_back(k * 3);
    std::mt19937_64 rng(order);
    std::shuffle(keys.begin(), keys.end(), rng);
    for (uint64_t k : keys) REQUIRE(t.insert(k, make_value(k, 0, 24 + k % 100), false) == 0);
    CHECK(root_level(s, t) >= 2);
    if (order == 0) std::sort(keys.begin(), keys.end());
    if (order == 1) std::sort(keys.rbegin(), keys.rend());
    Model m;
    for (uint64_t k : keys) m[k] = make_value(k, 0, 24 + k % 100);
    for (size_t i = 0; i < keys.size(); ++i) {
      REQUIRE(t.remove(keys[i]) == 0);
      m.erase(keys[i]);
      if (i % 2500 == 0) {
        expect_matches(t, m);
        REQUIRE(s.in_use == static_cast<int64_t>(tree_blocks(t).size()));
        // Merging keeps leaves from going nearly empty: on average at least a fifth full.
        size_t bytes = 0;
        for (auto& kv : m) bytes += node::leaf_entry_bytes(kv.second.size());
        CHECK(static_cast<size_t>(s.in_use) <= 5 * bytes / node::kSpace + 3);
      }
    }
    CHECK(t.root() == 0);
    CHECK(s.in_use == 0);
    CHECK(s.bad_frees == 0);
  }
}

TEST_CASE("btree: sequential appends fill leaves densely") {
  MemStore s;
  BTree t(s, 0, 12);
  const uint64_t n = 50000;
  for (uint64_t k = 0; k < n; ++k) REQUIRE(t.insert(k, make_value(k, 0, 16), false) == 0);
  // 28 bytes per entry: a full leaf holds 145; append splits keep leaves nearly full.
  const int64_t min_leaves = static_cast<int64_t>(n / (node::kSpace / 28));
  MESSAGE("sequential: " << s.in_use << " blocks for " << n << " keys (minimum " << min_leaves << " leaves)");
  CHECK(s.in_use < min_leaves * 11 / 10 + 5);
  Model m;
  for (uint64_t k = 0; k < n; ++k) m[k] = make_value(k, 0, 16);
  expect_matches(t, m);
  CHECK(t.destroy() == 0);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
  CHECK(s.bad_frees == 0);
}

TEST_CASE("btree: destroy frees every block") {
  MemStore s;
  BTree a(s, 0, 1), b(s, 0, 2);
  for (uint64_t k = 0; k < 20000; ++k) {
    REQUIRE(a.insert(k * 13, make_value(k, 0, k % 300), false) == 0);
    REQUIRE(b.insert(k * 17, make_value(k, 1, k % 50), false) == 0);
  }
  const int64_t a_blocks = static_cast<int64_t>(tree_blocks(a).size());
  CHECK(s.in_use == a_blocks + static_cast<int64_t>(tree_blocks(b).size()));
  CHECK(a.destroy() == 0);
  CHECK(a.root() == 0);
  CHECK(s.in_use == static_cast<int64_t>(tree_blocks(b).size()));
  CHECK(b.destroy() == 0);
  CHECK(s.in_use == 0);
  CHECK(s.bad_frees == 0);
  // A destroyed tree is an empty tree, usable again.
  CHECK(a.insert(5, "again", false) == 0);
  std::string v;
  CHECK(a.lookup(5, &v) == 0);
  CHECK(v == "again");
}

TEST_CASE("btree: reopening a tree from its root block sees the same contents") {
  MemStore s;
  Model m;
  uint64_t root = 0;
  {
    BTree t(s, 0, 55);
    for (uint64_t k = 0; k < 5000; ++k) {
      m[k * 101] = make_value(k, 0, k % 90);
      REQUIRE(t.insert(k * 101, m[k * 101], false) == 0);
    }
    root = t.root();
  }
  BTree again(s, root, 55);
  expect_matches(again, m);
  BTree wrong_tag(s, root, 56);
  std::string why;
  CHECK(wrong_tag.check({}, &why) == -EUCLEAN);
  CHECK(why.find("tag") != std::string::npos);
  CHECK(wrong_tag.lookup(101, nullptr) == -EUCLEAN);
}
