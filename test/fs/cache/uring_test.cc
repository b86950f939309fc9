// Page cache over a real image file through the io_uring engine: every write_strategy x
// completion x page_alloc combination writes, syncs and reads back correctly, and the
// completions of completion=thread run on the completion thread.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "cache_test_util.h"
#include "fs/cache/page_cache.h"
#include "io/uring_device.h"
#include "mem/page_pool.h"

using namespace chainfs;
using cache::CacheOptions;
using cache::PageCache;
using cache::ReadStrategy;
using cache::WriteStrategy;
using test::FileModel;

namespace {

constexpr uint64_t kImage = 32ull << 20;

std::unique_ptr<io::UringDevice> open_uring(const std::string& path, io::CompletionMode mode) {
  io::UringOptions uo;
  uo.completion = mode;
  uo.queue_depth = 32;
  std::unique_ptr<io::UringDevice> dev;
  int r = io::UringDevice::open(path, io::OpenOptions{}, uo, &dev);
  REQUIRE(r == 0);
  return dev;
}

mem::PoolOptions pool_opts(mem::PoolKind kind, size_t cap_pages) {
  mem::PoolOptions o;
  o.kind = kind;
  o.byte_cap = cap_pages * 4096;
  o.arena_bytes = size_t{4} << 20;
  o.gang_pages = 16;
  return o;
}

std::string fmt_desc(io::CompletionMode m, WriteStrategy w, mem::PoolKind k) {
  return std::string("completion=") + io::to_string(m) + " write_strategy=" + cache::to_string(w) +
         " page_alloc=" + mem::to_string(k);
}

}  // namespace

TEST_CASE("every write_strategy x completion x page_alloc is correct on an image file through io_uring") {
  for (auto mode : {io::CompletionMode::kInline, io::CompletionMode::kThread, io::CompletionMode::kWaiter}) {
    for (WriteStrategy w : {WriteStrategy::kSync, WriteStrategy::kPage, WriteStrategy::kChain}) {
      for (auto kind : {mem::PoolKind::kMalloc, mem::PoolKind::kPercpu, mem::PoolKind::kGang}) {
        std::string desc = fmt_desc(mode, w, kind);
        CAPTURE(desc);
        test::TempImage img(kImage);
        FileModel a(2, 300, 100, 2000, 200), b(3, 100, 1000, 3000, 50);
        std::mt19937_64 rng(static_cast<uint64_t>(mode) * 9 + static_cast<uint64_t>(w) * 3 + static_cast<uint64_t>(kind));
        std::vector<char> buf(256 << 10);
        {
          auto dev = open_uring(img.path(), mode);
          // A cap of 128 pages, so reclaim and eviction run too.
          auto pool = mem::make_page_pool(pool_opts(kind, 128));
          CacheOptions o;
          o.write = w;
          o.flush_interval_ms = 10;
          PageCache c(*dev, *pool, o);
          for (int i = 0; i < 120; ++i) {
            FileModel& f = (i % 3) ? a : b;
            size_t len = 1 + rng() % (i % 5 == 0 ? (200 << 10) : 20000);
            len = std::min<size_t>(len, f.nblocks * 4096 - 1);
            uint64_t off = rng() % (f.nblocks * 4096 - len);
            test::fill_random(rng, buf.data(), len);
            REQUIRE(f.write(c, off, buf.data(), len) == 0);
            REQUIRE(f.check(c, rng() % (f.nblocks * 4096 - 30000), 30000));
            if (i % 40 == 39) REQUIRE(c.fsync(f.ino) == 0);
          }
          REQUIRE(c.fsync(a.ino) == 0);
          REQUIRE(c.fsync(b.ino) == 0);
          REQUIRE(dev->flush() == 0);
          auto bytes = img.contents();
          CHECK(a.on_device(bytes.data()));
          CHECK(b.on_device(bytes.data()));
        }
        // Cold: a new device and cache read it all back.
        auto dev = open_uring(img.path(), mode);
        auto pool = mem::make_page_pool(pool_opts(kind, 0));
        CacheOptions o;
        o.write = w;
        PageCache c(*dev, *pool, o);
        CHECK(a.check(c, 0, a.nblocks * 4096));
        CHECK(b.check(c, 0, b.nblocks * 4096));
      }
    }
  }
}

TEST_CASE("write completions run on the completion thread in completion=thread, in the reaper in inline") {
  for (auto mode : {io::CompletionMode::kThread, io::CompletionMode::kInline}) {
    test::TempImage img(kImage);
    auto dev = open_uring(img.path(), mode);
    auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang, 0));
    std::mutex mu;
    std::set<std::thread::id> seen;
    CacheOptions o;
    o.flush_interval_ms = 0;
    o.completion_probe = [&] {
      std::lock_guard lk(mu);
      seen.insert(std::this_thread::get_id());
    };
    PageCache c(*dev, *pool, o);
    std::vector<char> buf(64 << 10, 'c');
    for (int i = 0; i < 16; ++i) REQUIRE(c.write(1, i * 16, 100 + i * 16, 16, i * (64 << 10), buf.data(), buf.size(), true) == 0);
    REQUIRE(c.fsync(1) == 0);
    std::lock_guard lk(mu);
    REQUIRE(seen.size() == 1);
    auto expected = mode == io::CompletionMode::kThread ? dev->completion_thread_id() : dev->reaper_thread_id();
    CHECK(*seen.begin() == expected);
    CHECK(*seen.begin() != std::this_thread::get_id());
  }
}
