// Allocation and write failures in the middle of a split must leave the tree as it was.
#include <doctest/doctest.h>

#include <cerrno>
#include <random>
#include <utility>

#include "fs/btree/btree.h"
#include "fs/btree/node.h"
#include "test/fs/btree/mem_store.h"
#include "test/fs/btree/tree_util.h"

using namespace chainfs::btree;
using chainfs::kBlockSize;
using namespace chainfs::btree::test;

TEST_CASE("btree: ENOSPC at every allocation of a split leaves the tree unchanged") {
  MemStore s;
  BTree t(s, 0, 21);
  Model m;
  std::mt19937_64 rng(5);
  int enospc = 0, multi_block_failures = 0;
  // Large values make leaves split often and the tree three levels deep quickly.
  for (int i = 0; i < 4000; ++i) {
    const uint64_t k = rng() % 100000;
    std::string v = make_value(k, i, 300 + rng() % (kMaxValue - 300));
    const uint64_t root_before = t.root();
    const int64_t in_use_before = s.in_use;
    // Fail the first, second or third allocation of this insert.
    const int64_t fail_at = static_cast<int64_t>(rng() % 3);
    s.fail_allocs_after = fail_at;
    const int rc = t.insert(k, v, true);
    const bool failure_unreached = s.fail_allocs_after != -1;  // the failure was never reached
    s.fail_allocs_after = -1;
    if (rc == -ENOSPC) {
      ++enospc;
      if (fail_at > 0) ++multi_block_failures;
      CHECK(t.root() == root_before);
      CHECK(s.in_use == in_use_before);
      std::string got;
      const auto it = m.find(k);
      if (it == m.end()) CHECK(t.lookup(k, &got) == -ENOENT);
      else CHECK((t.lookup(k, &got) == 0 && got == it->second));
    } else {
      REQUIRE(rc == 0);
      CHECK(failure_unreached);
      m[k] = v;
    }
    if (i % 200 == 0) expect_matches(t, m);
  }
  expect_matches(t, m);
  MESSAGE("ENOSPC injected " << enospc << " times, " << multi_block_failures << " after the first allocation");
  CHECK(enospc > 100);
  CHECK(multi_block_failures > 0);
  CHECK(s.in_use == static_cast<int64_t>(tree_blocks(t).size()));
  // After the failures the tree is fully usable.
  for (auto& [k, v] : m) REQUIRE(t.remove(k) == 0);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
  CHECK(s.bad_frees == 0);
}

TEST_CASE("btree: ENOSPC when the root must grow: all three blocks or none") {
  MemStore s;
  BTree t(s, 0, 22);
  Model m;
  // Fill in order until the root is an internal node that is itself full: the next split
  // of the rightmost leaf then needs a leaf, an internal node and a new root.
  uint64_t k = 0;
  auto root_count = [&]() {
    uint8_t b[kBlockSize];
    REQUIRE(s.read_block(t.root(), b) == 0);
    return std::make_pair(node::level(b), node::count(b));
  };
  for (;; ++k) {
    m[k] = make_value(k, 0, kMaxValue);
    REQUIRE(t.insert(k, m[k], false) == 0);
    auto [level, count] = root_count();
    if (level == 1 && count == node::kMaxInternalEntries) break;
  }
  // Top up the last leaf until the next append must split it.
  int64_t before = s.in_use;
  for (;;) {
    ++k;
    s.fail_allocs_after = 0;
    const int rc = t.insert(k, make_value(k, 0, kMaxValue), false);
    s.fail_allocs_after = -1;
    if (rc == -ENOSPC) break;
    REQUIRE(rc == 0);
    m[k] = make_value(k, 0, kMaxValue);
    before = s.in_use;
  }
  for (int64_t fail_at = 0; fail_at < 3; ++fail_at) {
    CAPTURE(fail_at);
    const uint64_t root = t.root();
    s.fail_allocs_after = fail_at;
    CHECK(t.insert(k, make_value(k, 0, kMaxValue), false) == -ENOSPC);
    s.fail_allocs_after = -1;
    CHECK(t.root() == root);
    CHECK(s.in_use == before);
    expect_matches(t, m);
  }
  REQUIRE(t.insert(k, make_value(k, 0, kMaxValue), false) == 0);
  m[k] = make_value(k, 0, kMaxValue);
  CHECK(s.in_use == before + 3);
  CHECK(root_count().first == 2);
  expect_matches(t, m);
}

TEST_CASE("btree: a failed write of a new block leaves the tree unchanged") {
  MemStore s;
  BTree t(s, 0, 23);
  Model m;
  uint64_t k = 0;
  // Fill one leaf to the brim; the next insert splits and writes the new node first.
  for (;; ++k) {
    const int64_t blocks = s.in_use;
    m[k] = make_value(k, 0, 500);
    REQUIRE(t.insert(k, m[k], false) == 0);
    if (s.in_use != blocks && k > 0) break;
  }
  // Now several leaves exist; find an insert that splits by trying one with a failing write.
  const int64_t before = s.in_use;
  const uint64_t root = t.root();
  for (uint64_t probe = k + 1; probe < k + 20; ++probe) {
    s.fail_writes_after = 0;
    const int rc = t.insert(probe, make_value(probe, 0, 500), false);
    s.fail_writes_after = -1;
    REQUIRE(rc == -EIO);
    CHECK(s.in_use == before);
    CHECK(t.root() == root);
  }
  CHECK(s.bad_frees == 0);
  // The single-leaf rewrite path failed too; the leaf on the device must be the old one
  // (writes are whole blocks), so contents are unchanged.
  expect_matches(t, m);
}

TEST_CASE("btree: the first insert into an empty tree fails cleanly") {
  MemStore s;
  BTree t(s, 0, 24);
  s.fail_allocs_after = 0;
  CHECK(t.insert(1, "a", false) == -ENOSPC);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
  s.fail_writes_after = 0;
  CHECK(t.insert(1, "a", false) == -EIO);
  CHECK(t.root() == 0);
  CHECK(s.in_use == 0);
  CHECK(t.insert(1, "a", false) == 0);
  CHECK(t.lookup(1, nullptr) == 0);
}
