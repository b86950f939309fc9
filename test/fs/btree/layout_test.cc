// The bytes on disk match fs/format/FORMAT.md ("B+tree nodes"), read with the offsets the document
// gives (not with node.h's accessors), so the document and the code cannot drift apart.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "fs/btree/btree.h"
#include "fs/format/crc32c.h"
#include "fs/format/endian.h"
#include "test/fs/btree/mem_store.h"

using namespace chainfs::btree;
using namespace chainfs::btree::test;
using namespace chainfs::format;

TEST_CASE("btree: leaf layout as documented") {
  MemStore s;
  BTree t(s, 0, 0x1122334455667788ull);
  REQUIRE(t.insert(500, "hello", false) == 0);
  REQUIRE(t.insert(7, "", false) == 0);
  REQUIRE(t.insert(9000, "xyz", false) == 0);
  const uint8_t* b = s.block(t.root());
  CHECK(std::memcmp(b, "CBTN", 4) == 0);
  CHECK(load_le32(b + 4) == crc32c::block(b, 4096, 4));
  CHECK(load_le64(b + 8) == 0x1122334455667788ull);
  CHECK(b[16] == 0);  // leaf
  CHECK(b[17] == 0);  // flags
  CHECK(load_le16(b + 18) == 3);
  // Values packed down from 4096 in slot order: "" (7), "hello" (500), "xyz" (9000).
  CHECK(load_le16(b + 20) == 4096 - 8);
  for (int i = 22; i < 32; ++i) CHECK(b[i] == 0);
  CHECK(load_le64(b + 32) == 7);
  CHECK(load_le16(b + 32 + 8) == 4096);
  CHECK(load_le16(b + 32 + 10) == 0);
  CHECK(load_le64(b + 44) == 500);
  CHECK(load_le16(b + 44 + 8) == 4091);
  CHECK(load_le16(b + 44 + 10) == 5);
  CHECK(std::memcmp(b + 4091, "hello", 5) == 0);
  CHECK(load_le64(b + 56) == 9000);
  CHECK(load_le16(b + 56 + 8) == 4088);
  CHECK(load_le16(b + 56 + 10) == 3);
  CHECK(std::memcmp(b + 4088, "xyz", 3) == 0);
  for (int i = 68; i < 4088; ++i) REQUIRE(b[i] == 0);
}

TEST_CASE("btree: internal layout as documented") {
  MemStore s;
  BTree t(s, 0, 42);
  // Maximal values: three per leaf, so six keys make a root with at least two children.
  for (uint64_t k = 1; k <= 6; ++k) REQUIRE(t.insert(k * 100, std::string(kMaxValue, 'a'), false) == 0);
  const uint8_t* r = s.block(t.root());
  CHECK(std::memcmp(r, "CBTN", 4) == 0);
  CHECK(load_le32(r + 4) == crc32c::block(r, 4096, 4));
  CHECK(load_le64(r + 8) == 42);
  CHECK(r[16] == 1);
  const unsigned n = load_le16(r + 18);
  REQUIRE(n >= 2);
  CHECK(load_le16(r + 20) == 0);
  CHECK(load_le64(r + 32) == 0);  // the root's first separator is its lower bound, 0
  uint64_t prev_last = 0;
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t sep = load_le64(r + 32 + 16 * i);
    const uint64_t child = load_le64(r + 32 + 16 * i + 8);
    const uint8_t* c = s.block(child);
    CHECK(c[16] == 0);
    const unsigned cn = load_le16(c + 18);
    REQUIRE(cn >= 1);
    const uint64_t first = load_le64(c + 32), last = load_le64(c + 32 + 12 * (cn - 1));
    CHECK(first >= sep);
    if (i > 0) CHECK(first == sep);  // split: the separator is the right node's first key
    CHECK((i == 0 || prev_last < sep));
    prev_last = last;
  }
  for (unsigned i = 32 + 16 * n; i < 4096; ++i) REQUIRE(r[i] == 0);
}
