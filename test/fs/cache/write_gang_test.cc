// WriteGang: when sequential writes take pages from a gang, and which pages the gang keeps.
// The pages are stand-in addresses (bytes of one array): the type only holds them.
#include "fs/cache/write_gang.h"

#include <doctest/doctest.h>

#include <vector>

using chainfs::cache::kWriteGang;
using chainfs::cache::kWriteGangAfter;
using chainfs::cache::WriteGang;

namespace {
std::vector<char*> fake_gang(char* base, size_t n) {
  std::vector<char*> g;
  for (size_t i = 0; i < n; ++i) g.push_back(base + i);
  return g;
}
}  // namespace

TEST_CASE("a run must reach kWriteGangAfter blocks before it wants a gang") {
  WriteGang g;
  uint64_t b = 0;
  for (; b < kWriteGangAfter; ++b) {
    CHECK_FALSE(g.wants({b}, kWriteGang));
    g.on_write(b, b + 1);
  }
  CHECK(g.wants({b}, kWriteGang));
  CHECK(g.wants({b, b + 1}, kWriteGang));
}

TEST_CASE("only small contiguous writes where the run ended want a gang") {
  WriteGang g;
  g.on_write(0, kWriteGangAfter);
  const uint64_t b = kWriteGangAfter;
  CHECK(g.wants({b}, kWriteGang));
  CHECK_FALSE(g.wants({b, b + 1, b + 2}, kWriteGang));  // more than two pages
  CHECK_FALSE(g.wants({b, b + 2}, kWriteGang));         // not contiguous
  CHECK_FALSE(g.wants({b + 1}, kWriteGang));            // not where the run ended
  CHECK_FALSE(g.wants({b}, 0));                         // gangs off
}

TEST_CASE("a jump starts a new run") {
  WriteGang g;
  g.on_write(0, 2 * kWriteGangAfter);
  g.on_write(1000, 1001);
  CHECK_FALSE(g.wants({1001}, kWriteGang));
}

TEST_CASE("pages come out of the gang in address order") {
  std::vector<char> mem(16);
  char* base = mem.data();
  WriteGang g;
  auto gang = fake_gang(base, 8);
  auto not_kept = g.refill(gang, 2);  // pages 0 and 1 went to the write that allocated it
  CHECK(not_kept.empty());
  CHECK(g.pages() == 6);
  std::vector<char*> out;
  REQUIRE(g.take(1, &out));
  REQUIRE(g.take(2, &out));
  REQUIRE(out.size() == 3);
  CHECK(out[0] == gang[2]);
  CHECK(out[1] == gang[3]);
  CHECK(out[2] == gang[4]);
  CHECK_FALSE(g.take(4, &out));  // three left: nothing moves
  CHECK(out.size() == 3);
  CHECK(g.pages() == 3);
}

TEST_CASE("a gang refilled meanwhile is kept, the new rest is given back") {
  std::vector<char> mem(16);
  WriteGang g;
  auto first = fake_gang(mem.data(), 4);
  auto second = fake_gang(mem.data() + 8, 4);
  CHECK(g.refill(first, 1).empty());
  auto not_kept = g.refill(second, 1);
  CHECK(not_kept.size() == 3);
  std::vector<char*> out;
  REQUIRE(g.take(1, &out));
  CHECK(out[0] == first[1]);
}

TEST_CASE("release hands every page back and empties the gang") {
  std::vector<char> mem(16);
  WriteGang g;
  auto gang = fake_gang(mem.data(), 5);
  g.refill(gang, 1);
  auto all = g.release();
  CHECK(all.size() == 4);
  CHECK(g.pages() == 0);
  CHECK(g.release().empty());
}
