#include <doctest/doctest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "mem/arena.h"  // kHugePageSize
#include "mem/page_pool.h"
#include "pool_test_util.h"

using namespace chainfs::mem;
using chainfs::kBlockSize;
using chainfs::mem::test::check_balanced;
using chainfs::mem::test::iov_bytes;
using chainfs::mem::test::page_aligned;
using chainfs::mem::test::ScopedEnv;

namespace {

// Behaviour every compound buffer has, whichever way it was built.
void check_compound_basics(PagePool& pool, size_t bytes) {
  CompoundBuffer b = pool.alloc_compound(bytes);
  CHECK(b.size() == bytes);
  CHECK(b.page_count() == (bytes + kBlockSize - 1) / kBlockSize);
  CHECK(iov_bytes(b.iovecs()) == bytes);
  for (const iovec& v : b.iovecs()) CHECK(page_aligned(v.iov_base));
  for (size_t i = 0; i < b.page_count(); ++i) CHECK(page_aligned(b.page(i)));

  // Bytes written through copy_in come back through copy_out and through the iovecs.
  std::vector<unsigned char> in(bytes), out(bytes, 0);
  std::iota(in.begin(), in.end(), static_cast<unsigned char>(7));
  CHECK(b.copy_in(0, in.data(), in.size()) == bytes);
  CHECK(b.copy_out(0, out.data(), out.size()) == bytes);
  CHECK(in == out);
  std::vector<unsigned char> via_iov;
  for (const iovec& v : b.iovecs()) {
    auto* p = static_cast<unsigned char*>(v.iov_base);
    via_iov.insert(via_iov.end(), p, p + v.iov_len);
  }
  CHECK(via_iov == in);
  // Unaligned window across a page boundary; copies are clamped to the size.
  unsigned char window[100];
  if (bytes >= kBlockSize + sizeof window) {
    CHECK(b.copy_out(kBlockSize - 50, window, sizeof window) == sizeof window);
    CHECK(std::memcmp(window, in.data() + kBlockSize - 50, sizeof window) == 0);
    std::memset(window, 0xab, sizeof window);
    CHECK(b.copy_in(kBlockSize - 50, window, sizeof window) == sizeof window);
    CHECK(static_cast<unsigned char>(b.page(0)[kBlockSize - 1]) == 0xab);
    CHECK(static_cast<unsigned char>(b.page(1)[49]) == 0xab);
    CHECK(static_cast<unsigned char>(b.page(1)[50]) == in[kBlockSize + 50]);
  }
  if (bytes >= 10) CHECK(b.copy_out(bytes - 10, window, sizeof window) == 10);
  CHECK(b.copy_in(bytes, window, 1) == 0);
}

}  // namespace

TEST_CASE("compound buffers, both modes and every kind") {
  for (PoolKind kind : {PoolKind::kGang, PoolKind::kPercpu, PoolKind::kMalloc}) {
    for (bool forced : {false, true}) {
      const std::string kind_name = to_string(kind);
    CAPTURE(kind_name);
      CAPTURE(forced);
      PoolOptions o;
      o.kind = kind;
      o.force_fallback = forced;
      auto pool = make_page_pool(o);
      check_compound_basics(*pool, 3 * kBlockSize + 123);
      check_compound_basics(*pool, (size_t{1} << 20));
      check_compound_basics(*pool, 1);
      check_balanced(*pool);
    }
  }
}

TEST_CASE("gang pool: a compound buffer is one contiguous run when the depot has one") {
  PoolOptions o;
  o.force_fallback = false;
  auto pool = make_page_pool(o);
  if (pool->options().force_fallback) {
    // CHAINFS_FORCE_COMPOUND_FALLBACK=1 in the environment: the forced mode is what runs.
    CompoundBuffer b = pool->alloc_compound(size_t{1} << 20);
    CHECK_FALSE(b.contiguous());
    return;
  }
  CompoundBuffer b = pool->alloc_compound((size_t{1} << 20) + 5);
  CHECK(b.contiguous());
  REQUIRE(b.data() != nullptr);
  CHECK(b.iovecs().size() == 1);
  CHECK(b.iovecs()[0].iov_len == (size_t{1} << 20) + 5);
  CHECK(b.data() == b.page(0));
  CHECK(b.page(1) == b.page(0) + kBlockSize);
  PoolStats s = pool->stats();
  CHECK(s.compound_contiguous == 1);
  CHECK(s.compound_fallback == 0);
}

TEST_CASE("gang pool: forced fallback gives one iovec per page, by option and by environment") {
  auto run = [](PagePool& pool) {
    CHECK(pool.options().force_fallback);
    CompoundBuffer b = pool.alloc_compound(5 * kBlockSize + 1);
    CHECK_FALSE(b.contiguous());
    CHECK(b.data() == nullptr);
    CHECK(b.iovecs().size() == 6);
    CHECK(b.iovecs().back().iov_len == 1);
    PoolStats s = pool.stats();
    CHECK(s.compound_fallback == 1);
    CHECK(s.compound_contiguous == 0);
  };
  SUBCASE("option") {
    PoolOptions o;
    o.force_fallback = true;
    auto pool = make_page_pool(o);
    run(*pool);
  }
  SUBCASE("environment") {
    ScopedEnv env("CHAINFS_FORCE_COMPOUND_FALLBACK", "1");
    auto pool = make_page_pool({});
    run(*pool);
  }
  SUBCASE("environment set to 0 does not force") {
    ScopedEnv env("CHAINFS_FORCE_COMPOUND_FALLBACK", "0");
    CHECK_FALSE(force_fallback_from_env());
  }
}

TEST_CASE("gang pool: a fragmented depot falls back to a scatter list in address order") {
  PoolOptions o;
  o.arena_bytes = kHugePageSize;  // one small arena that a test can fragment
  o.gang_pages = 8;
  o.force_fallback = false;
  auto pool = make_page_pool(o);
  const size_t n = kHugePageSize / kBlockSize;
  std::vector<void*> all(n);
  pool->alloc_gang(all);
  std::vector<void*> even, odd;
  for (size_t i = 0; i < n; ++i) (i % 2 ? odd : even).push_back(all[i]);
  pool->free_gang(odd);  // n/2 free pages, no two adjacent
  {
    CompoundBuffer b = pool->alloc_compound(8 * kBlockSize);
    CHECK_FALSE(b.contiguous());
    CHECK(b.iovecs().size() == 8);
    for (size_t i = 1; i < b.page_count(); ++i) CHECK(b.page(i) > b.page(i - 1));
    PoolStats s = pool->stats();
    CHECK(s.compound_fallback == 1);
    CHECK(s.arenas == 1);
  }
  pool->free_gang(even);
  check_balanced(*pool);
}

TEST_CASE("compound buffer: trim returns the whole pages past the end, release hands pages over") {
  auto pool = make_page_pool({});
  CompoundBuffer b = pool->alloc_compound(10 * kBlockSize);
  uint64_t frees_before = pool->stats().frees;
  b.trim(3 * kBlockSize + 1);
  CHECK(b.size() == 3 * kBlockSize + 1);
  CHECK(b.page_count() == 4);
  CHECK(iov_bytes(b.iovecs()) == 3 * kBlockSize + 1);
  CHECK(pool->stats().frees == frees_before + 6);
  b.trim(100 * kBlockSize);  // growing is not trimming
  CHECK(b.size() == 3 * kBlockSize + 1);

  std::vector<void*> pages = b.release_pages();
  CHECK(pages.size() == 4);
  CHECK(b.empty());
  CHECK(b.iovecs().empty());
  CHECK(pool->stats().pages_in_use == 4);
  for (void* p : pages) pool->free_page(p);
  pool->flush_thread_cache();
  check_balanced(*pool);
}

TEST_CASE("compound buffer: moves transfer ownership, assignment frees the old pages") {
  auto pool = make_page_pool({});
  CompoundBuffer a = pool->alloc_compound(2 * kBlockSize);
  CompoundBuffer b = std::move(a);
  CHECK(a.empty());
  CHECK(b.page_count() == 2);
  b = pool->alloc_compound(kBlockSize);
  CHECK(b.page_count() == 1);
  CHECK(pool->stats().pages_in_use == 1);
  b = CompoundBuffer();
  CHECK(pool->stats().pages_in_use == 0);
  CompoundBuffer empty = pool->alloc_compound(0);
  CHECK(empty.empty());
  CHECK(empty.iovecs().empty());
}
