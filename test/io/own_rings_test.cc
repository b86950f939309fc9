#include "io/own_rings.h"

#include <doctest/doctest.h>

#include <thread>

using chainfs::io::OwnRings;

TEST_CASE("OwnRings: a thread keeps its ring until it gives it back, and the next thread reuses it") {
  OwnRings pool(8);
  CHECK(pool.held() == nullptr);
  OwnRings::Lent* r = pool.current();
  REQUIRE(r != nullptr);
  CHECK(r->ring.ready());
  CHECK(r->ring.sq_entries() == 8);
  CHECK(pool.current() == r);
  CHECK(pool.held() == r);
  pool.release();
  CHECK(pool.held() == nullptr);
  OwnRings::Lent* seen = nullptr;
  std::thread([&] {
    seen = pool.current();
    pool.release();
  }).join();
  CHECK(seen == r);
  CHECK(pool.rings() == 1);
}

TEST_CASE("OwnRings: two threads holding rings at once have two") {
  OwnRings pool(4);
  OwnRings::Lent* mine = pool.current();
  REQUIRE(mine != nullptr);
  OwnRings::Lent* theirs = nullptr;
  std::thread([&] {
    theirs = pool.current();
    pool.release();
  }).join();
  REQUIRE(theirs != nullptr);
  CHECK(theirs != mine);
  CHECK(pool.rings() == 2);
  pool.release();
}

TEST_CASE("OwnRings: a thread holds one pool's ring at a time") {
  OwnRings a(4), b(4);
  REQUIRE(a.current() != nullptr);
  CHECK(b.current() == nullptr);
  CHECK(b.held() == nullptr);
  CHECK(b.rings() == 0);
  a.release();
  CHECK(b.current() != nullptr);
  b.release();
}
