// Corrupt nodes must give -EUCLEAN (kCorrupt), never a crash, a hang or an out-of-bounds
// read. Run this under -DCHAINFS_SANITIZE=address to make the last point meaningful.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <set>

#include "fs/btree/btree.h"
#include "fs/btree/node.h"
#include "fs/format/crc32c.h"
#include "fs/format/endian.h"
#include "test/fs/btree/mem_store.h"
#include "test/fs/btree/tree_util.h"

using namespace chainfs::btree;
using chainfs::kBlockSize;
using namespace chainfs::btree::test;
using namespace chainfs::format;

namespace {

void fix_crc(uint8_t* b) { store_le32(b + node::kOffCrc, crc32c::block(b, kBlockSize, node::kOffCrc)); }

struct Fixture {
  MemStore s;
  BTree t{s, 0, 1000};
  BTree other{s, 0, 2000};
  Model m;
  std::vector<uint64_t> blocks;
  uint64_t leaf = 0, internal = 0;  // a non-root leaf and a non-root internal node (if any)

  Fixture() {
    std::mt19937_64 rng(99);
    // Values sized so the tree is three levels deep with few enough nodes to fuzz them all.
    for (uint64_t i = 0; i < 6000; ++i) {
      const uint64_t k = rng() % 1000000;
      std::string v = make_value(k, 0, 150 + rng() % 500);
      if (t.insert(k, v, false) == 0) m[k] = v;
      REQUIRE(other.insert(k, v, true) == 0);
    }
    blocks = tree_blocks(t);
    // Nodes from the middle of the tree, so their key ranges are bounded on both sides.
    std::vector<uint64_t> leaves, internals;
    for (uint64_t b : blocks) {
      if (b == t.root()) continue;
      (node::level(s.block(b)) == 0 ? leaves : internals).push_back(b);
    }
    REQUIRE(internals.size() >= 3);
    leaf = leaves[leaves.size() / 2];
    internal = internals[internals.size() / 2];
    REQUIRE(node::level(s.block(t.root())) == 2);
    REQUIRE(leaf != 0);
    REQUIRE(internal != 0);
  }

  // Some key stored in the subtree of block b (its first key down the leftmost edge).
  uint64_t key_under(uint64_t b) {
    const uint8_t* n = s.block(b);
    while (node::level(n) > 0) n = s.block(node::internal_child(n, 0));
    return node::leaf_key(n, 0);
  }

  int check() {
    std::string why;
    return t.check({}, &why);
  }
};

bool in(int rc, std::initializer_list<int> allowed) {
  for (int a : allowed)
    if (rc == a) return true;
  return false;
}

}  // namespace

TEST_CASE("btree: every bit flip in a node fails its checksum") {
  Fixture f;
  std::mt19937_64 rng(3);
  for (uint64_t b : {f.t.root(), f.internal, f.leaf}) {
    CAPTURE(b);
    const uint64_t key = f.key_under(b);
    uint8_t* p = f.s.block(b);
    for (int i = 0; i < 300; ++i) {
      const size_t pos = rng() % kBlockSize;
      const uint8_t bit = static_cast<uint8_t>(1u << (rng() % 8));
      p[pos] ^= bit;
      CHECK(f.check() == -EUCLEAN);
      CHECK(f.t.lookup(key, nullptr) == -EUCLEAN);
      CHECK(f.t.insert(key, "x", true) == -EUCLEAN);
      CHECK(f.t.remove(key) == -EUCLEAN);
      CHECK(f.t.scan(key, [](uint64_t, std::string_view) { return true; }) == -EUCLEAN);
      p[pos] ^= bit;
    }
  }
  expect_matches(f.t, f.m);
}

// Each corruption below keeps a valid checksum, so only the structural checks can catch it.
TEST_CASE("btree: structural corruptions with a valid checksum") {
  Fixture f;
  struct Case {
    const char* name;
    bool on_leaf;
    std::function<void(uint8_t*)> mutate;
    bool node_detects = true;  // false: only noticed below the node, on some paths
  };
  const uint64_t root = f.t.root();
  const uint64_t other_leaf = [&] {
    std::vector<uint64_t> ob = tree_blocks(f.other);
    for (uint64_t b : ob)
      if (node::level(f.s.block(b)) == 0) return b;
    return uint64_t{0};
  }();
  const std::vector<Case> cases = {
      {"magic", true, [](uint8_t* b) { b[0] ^= 1; }},
      {"leaf count huge", true, [](uint8_t* b) { store_le16(b + node::kOffCount, 0xFFFF); }},
      {"leaf count past capacity", true,
       [](uint8_t* b) { store_le16(b + node::kOffCount, node::kMaxLeafEntries + 1); }},
      {"leaf count zero", true, [](uint8_t* b) { store_le16(b + node::kOffCount, 0); }},
      {"leaf count one more", true, [](uint8_t* b) { store_le16(b + node::kOffCount, node::count(b) + 1); }},
      {"internal count huge", false, [](uint8_t* b) { store_le16(b + node::kOffCount, 0xFFFF); }},
      {"internal count past capacity", false,
       [](uint8_t* b) { store_le16(b + node::kOffCount, node::kMaxInternalEntries + 1); }},
      {"internal count one more", false, [](uint8_t* b) { store_le16(b + node::kOffCount, node::count(b) + 1); }},
      {"leaf claims level 1", true, [](uint8_t* b) { b[node::kOffLevel] = 1; }},
      {"internal claims level 0", false, [](uint8_t* b) { b[node::kOffLevel] = 0; }},
      {"internal claims level 200", false, [](uint8_t* b) { b[node::kOffLevel] = 200; }},
      {"tag", true, [](uint8_t* b) { store_le64(b + node::kOffTag, 2000); }},
      {"flags", true, [](uint8_t* b) { b[node::kOffFlags] = 1; }},
      {"reserved", false, [](uint8_t* b) { b[node::kHeaderSize - 1] = 1; }},
      {"value offset past the end", true, [](uint8_t* b) { store_le16(b + node::kHeaderSize + 8, 4090); }},
      {"value offset into slots", true, [](uint8_t* b) { store_le16(b + node::kHeaderSize + 8, 0); }},
      {"value length huge", true, [](uint8_t* b) { store_le16(b + node::kHeaderSize + 10, 0xFFFF); }},
      {"value length past kMaxValue", true, [](uint8_t* b) {
         store_le16(b + node::kHeaderSize + 8, 2000);
         store_le16(b + node::kHeaderSize + 10, kMaxValue + 1);
       }},
      {"value heap start inside slots", true, [](uint8_t* b) { store_le16(b + node::kOffValueStart, 40); }},
      {"value heap start past block", true, [](uint8_t* b) { store_le16(b + node::kOffValueStart, 0xFFFF); }},
      {"internal with a value heap", false, [](uint8_t* b) { store_le16(b + node::kOffValueStart, 4000); }},
      {"leaf keys swapped", true,
       [](uint8_t* b) {
         const uint64_t k0 = node::leaf_key(b, 0), k1 = node::leaf_key(b, 1);
         store_le64(b + node::kHeaderSize, k1);
         store_le64(b + node::kHeaderSize + node::kLeafSlotSize, k0);
       }},
      {"leaf duplicate key", true, [](uint8_t* b) {
         store_le64(b + node::kHeaderSize + node::kLeafSlotSize, node::leaf_key(b, 0));
       }},
      {"leaf key above parent range", true, [](uint8_t* b) {
         store_le64(b + node::kHeaderSize + (node::count(b) - 1) * node::kLeafSlotSize, UINT64_MAX);
       }},
      {"leaf key below parent range", true, [](uint8_t* b) { store_le64(b + node::kHeaderSize, 0); }},
      {"separators out of order", false,
       [](uint8_t* b) {
         store_le64(b + node::kHeaderSize + node::kInternalEntrySize, node::internal_key(b, 0));
       }},
      {"separator above range", false, [](uint8_t* b) {
         store_le64(b + node::kHeaderSize + (node::count(b) - 1) * node::kInternalEntrySize, UINT64_MAX);
       }, false},
      {"child block 0", false, [](uint8_t* b) { store_le64(b + node::kHeaderSize + 8, 0); }},
      {"child is the root", false, [root](uint8_t* b) { store_le64(b + node::kHeaderSize + 8, root); }},
      {"child is itself", false,
       [](uint8_t*) {}},  // filled in below: needs the block number
      {"child past the device", false, [](uint8_t* b) { store_le64(b + node::kHeaderSize + 8, 1ull << 40); }},
      {"child in another tree", false, [other_leaf](uint8_t* b) {
         store_le64(b + node::kHeaderSize + 8, other_leaf);
       }},
      {"child is its sibling", false, [](uint8_t* b) {
         store_le64(b + node::kHeaderSize + 8, node::internal_child(b, 1));
       }},
      {"garbage in leaf free space", true, [](uint8_t* b) {
         const size_t value_start = load_le16(b + node::kOffValueStart);
         REQUIRE(value_start > node::kHeaderSize + node::count(b) * node::kLeafSlotSize);
         b[value_start - 1] = 7;
       }},
      {"garbage in internal free space", false, [](uint8_t* b) { b[kBlockSize - 1] = 7; }},
  };
  for (const Case& c : cases) {
    for (bool at_root : {false, true}) {
      if (at_root && c.on_leaf) continue;
      const std::string name = c.name;
      CAPTURE(name);
      CAPTURE(at_root);
      const uint64_t b = at_root ? root : c.on_leaf ? f.leaf : f.internal;
      uint8_t* p = f.s.block(b);
      uint8_t saved[kBlockSize];
      std::memcpy(saved, p, kBlockSize);
      const uint64_t key = f.key_under(b);
      if (std::string(c.name) == "child is itself") store_le64(p + node::kHeaderSize + 8, b);
      else c.mutate(p);
      fix_crc(p);
      std::string why;
      CHECK(f.t.check({}, &why) == -EUCLEAN);
      MESSAGE(name << (at_root ? " (root)" : "") << ": " << why);
      const int lrc = f.t.lookup(key, nullptr);
      if (c.node_detects || !at_root) CHECK(lrc == -EUCLEAN);
      else CHECK(in(lrc, {0, -EUCLEAN}));
      const int64_t in_use = f.s.in_use;
      CHECK(f.t.destroy() == -EUCLEAN);
      CHECK(f.s.in_use == in_use);
      std::memcpy(p, saved, kBlockSize);
    }
  }
  expect_matches(f.t, f.m);
}

TEST_CASE("btree: a block swapped in from another tree is detected by its tag") {
  Fixture f;
  std::vector<uint64_t> ob = tree_blocks(f.other);
  // Same level, same position: only the tag tells them apart.
  uint64_t victim = f.leaf, donor = 0;
  for (uint64_t b : ob)
    if (node::level(f.s.block(b)) == 0) donor = b;
  REQUIRE(donor != 0);
  const uint64_t key = f.key_under(victim);
  uint8_t saved[kBlockSize];
  std::memcpy(saved, f.s.block(victim), kBlockSize);
  std::memcpy(f.s.block(victim), f.s.block(donor), kBlockSize);
  std::string why;
  CHECK(f.t.check({}, &why) == -EUCLEAN);
  CHECK(why.find("tag") != std::string::npos);
  CHECK(f.t.lookup(key, nullptr) == -EUCLEAN);
  std::memcpy(f.s.block(victim), saved, kBlockSize);
  // The whole root swapped: everything fails, nothing crashes.
  std::memcpy(saved, f.s.block(f.t.root()), kBlockSize);
  std::memcpy(f.s.block(f.t.root()), f.s.block(f.other.root()), kBlockSize);
  CHECK(f.t.lookup(1, nullptr) == -EUCLEAN);
  CHECK(f.t.insert(1, "x", false) == -EUCLEAN);
  CHECK(f.t.remove(1) == -EUCLEAN);
  CHECK(f.t.destroy() == -EUCLEAN);
  std::memcpy(f.s.block(f.t.root()), saved, kBlockSize);
  expect_matches(f.t, f.m);
}

TEST_CASE("btree: a corrupt sibling blocks a merge, not the removal") {
  Fixture f;
  // The right neighbour of f.leaf under the same parent.
  const uint8_t* parent = nullptr;
  unsigned idx = 0;
  for (uint64_t b : f.blocks) {
    const uint8_t* n = f.s.block(b);
    if (node::level(n) != 1) continue;
    for (unsigned i = 0; i < node::count(n); ++i)
      if (node::internal_child(n, i) == f.leaf) parent = n, idx = i;
  }
  REQUIRE(parent != nullptr);
  REQUIRE(idx + 1 < node::count(parent));
  const uint64_t right = node::internal_child(parent, idx + 1);
  f.s.block(right)[100] ^= 1;
  // Empty f.leaf key by key: each removal succeeds though every merge attempt meets the
  // corrupt sibling; the emptied leaf is then freed as usual.
  std::vector<uint64_t> keys;
  const uint8_t* l = f.s.block(f.leaf);
  for (unsigned i = 0; i < node::count(l); ++i) keys.push_back(node::leaf_key(l, i));
  for (uint64_t k : keys) {
    REQUIRE(f.t.remove(k) == 0);
    f.m.erase(k);
    CHECK(f.t.lookup(k, nullptr) == -ENOENT);
  }
  CHECK(f.s.bad_frees == 0);
  std::string why;
  CHECK(f.t.check({}, &why) == -EUCLEAN);
  CHECK(why.find("block " + std::to_string(right)) != std::string::npos);
  f.s.block(right)[100] ^= 1;
  expect_matches(f.t, f.m);
}

// Random damage to random nodes, then every operation. With the checksum left stale the
// damage must be reported; with it recomputed, the operations must still return an
// errno-shaped answer and touch no memory they should not (ASan).
TEST_CASE("btree: fuzz: random corruption of random nodes") {
  // A three-level tree of a few hundred nodes: each round copies and walks all of it.
  MemStore base;
  BTree tree(base, 0, 1000);
  std::mt19937_64 rng(2024);
  std::vector<uint64_t> keys;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t k = rng() % 1000000;
    if (tree.insert(k, make_value(k, 0, 200 + rng() % (kMaxValue - 199)), false) == 0) keys.push_back(k);
  }
  const std::vector<uint64_t> blocks = tree_blocks(tree);
  REQUIRE(node::level(base.block(tree.root())) == 2);
  int detected = 0, rounds = 0;
  for (int round = 0; round < 2000; ++round, ++rounds) {
    MemStore s = base;  // a private copy to damage
    BTree t(s, tree.root(), 1000);
    // Damage one node, sometimes two or three.
    const int victims = rng() % 4 == 0 ? 2 + static_cast<int>(rng() % 2) : 1;
    bool stale_crc = false;
    for (int vi = 0; vi < victims; ++vi) {
      const uint64_t b = blocks[rng() % blocks.size()];
      uint8_t* p = s.block(b);
      const int how = static_cast<int>(rng() % 5);
      const int n = 1 + static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) {
        size_t pos;
        switch (how) {
          case 0: pos = rng() % kBlockSize; break;         // anywhere
          case 1: pos = rng() % node::kHeaderSize; break;  // header
          default:                                         // slots or entries
            pos = node::kHeaderSize + rng() % (node::count(p) * 16 + 16) % (kBlockSize - node::kHeaderSize);
        }
        p[pos] = static_cast<uint8_t>(rng() % 3 == 0 ? 0xFF : rng());
      }
      const bool fixed = rng() % 5 != 0;
      if (!fixed && std::memcmp(p, base.block(b), kBlockSize) != 0) stale_crc = true;
      if (fixed) fix_crc(p);
    }
    std::string why;
    const int crc = t.check({}, &why);
    REQUIRE(in(crc, {0, -EUCLEAN}));
    if (stale_crc) REQUIRE(crc == -EUCLEAN);
    if (crc) ++detected;
    for (int op = 0; op < 30; ++op) {
      const uint64_t k = rng() % 2 ? keys[rng() % keys.size()] : rng() % 1100000;
      std::string v;
      switch (rng() % 5) {
        case 0: REQUIRE(in(t.lookup(k, &v), {0, -ENOENT, -EUCLEAN})); break;
        case 1: REQUIRE(in(t.insert(k, make_value(k, 1, rng() % 700), rng() % 2), {0, -EEXIST, -EUCLEAN, -EIO})); break;
        case 2: REQUIRE(in(t.remove(k), {0, -ENOENT, -EUCLEAN, -EIO})); break;
        default: {
          size_t limit = rng() % 3000, seen = 0;
          REQUIRE(in(t.scan(k, [&](uint64_t, std::string_view) { return ++seen < limit; }), {0, -EUCLEAN}));
        }
      }
    }
    const int64_t in_use = s.in_use;
    const int drc = t.destroy();
    REQUIRE(in(drc, {0, -EUCLEAN}));
    if (drc != 0) CHECK(s.in_use == in_use);
  }
  MESSAGE("fuzz: " << detected << " of " << rounds << " damaged trees failed check()");
  CHECK(detected > rounds / 2);
}

TEST_CASE("btree: check_all reports every bad node and claims every good one") {
  Fixture f;
  std::set<uint64_t> under_internal;
  const uint8_t* mid = f.s.block(f.internal);
  for (unsigned i = 0; i < node::count(mid); ++i) under_internal.insert(node::internal_child(mid, i));
  std::vector<uint64_t> bad_leaves;
  for (uint64_t b : f.blocks)
    if (node::level(f.s.block(b)) == 0 && !under_internal.count(b) && bad_leaves.size() < 2) bad_leaves.push_back(b);
  REQUIRE(bad_leaves.size() == 2);
  f.s.block(bad_leaves[0])[200] ^= 4;                               // checksum
  store_le64(f.s.block(bad_leaves[1]) + node::kOffTag, 3);           // tag, checksum fixed
  fix_crc(f.s.block(bad_leaves[1]));
  f.s.block(f.internal)[node::kOffLevel] = 7;                       // level, checksum fixed
  fix_crc(f.s.block(f.internal));

  std::set<uint64_t> good, bad;
  std::vector<std::string> reasons;
  const int rc = f.t.check_all([&](uint64_t b) { CHECK(good.insert(b).second); },
                               [&](uint64_t b, const std::string& why) {
                                 bad.insert(b);
                                 reasons.push_back(why);
                               });
  CHECK(rc == -EUCLEAN);
  CHECK(bad == std::set<uint64_t>{bad_leaves[0], bad_leaves[1], f.internal});
  std::set<uint64_t> expect_good(f.blocks.begin(), f.blocks.end());
  for (uint64_t b : bad) expect_good.erase(b);
  for (uint64_t b : under_internal) expect_good.erase(b);
  CHECK(good == expect_good);
  for (const std::string& r : reasons) MESSAGE(r);
  // A healthy tree: same blocks as check(), no reports.
  MemStore clean;
  BTree t(clean, 0, 5);
  for (uint64_t k = 0; k < 3000; ++k) REQUIRE(t.insert(k * 7, make_value(k, 0, 100), false) == 0);
  std::vector<uint64_t> all;
  int reports = 0;
  CHECK(t.check_all([&](uint64_t b) { all.push_back(b); }, [&](uint64_t, const std::string&) { ++reports; }) == 0);
  CHECK(reports == 0);
  CHECK(all == tree_blocks(t));
  CHECK(static_cast<int64_t>(all.size()) == clean.in_use);
}
