// Page cache over memory devices: data correctness for every write strategy and page
// allocator, the writeback states, errors, the cap, and the writeback triggers.
#include "fs/cache/page_cache.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "cache_test_util.h"
#include "io/faulty_device.h"
#include "io/mem_device.h"
#include "io/sync_bio_device.h"
#include "mem/page_pool.h"

using namespace chainfs;
using cache::CacheOptions;
using cache::PageCache;
using cache::ReadStrategy;
using cache::Trigger;
using cache::WriteStrategy;
using test::FileModel;

namespace {

constexpr uint64_t kDev = 64ull << 20;

io::QueueLimits limits(uint32_t max_kb = 1280) {
  io::QueueLimits l;
  l.logical_block_size = 512;
  l.max_sectors_kb = max_kb;
  return l;
}

mem::PoolOptions pool_opts(mem::PoolKind kind, size_t cap_pages = 0) {
  mem::PoolOptions o;
  o.kind = kind;
  o.byte_cap = cap_pages * 4096;
  o.arena_bytes = size_t{4} << 20;
  o.gang_pages = 16;
  return o;
}

CacheOptions quiet(WriteStrategy w, ReadStrategy r = ReadStrategy::kGang) {
  CacheOptions o;
  o.write = w;
  o.read = r;
  o.flush_interval_ms = 0;  // no timer: tests decide when writeback happens
  return o;
}

const WriteStrategy kWrites[] = {WriteStrategy::kSync, WriteStrategy::kPage, WriteStrategy::kChain};
const mem::PoolKind kPools[] = {mem::PoolKind::kMalloc, mem::PoolKind::kPercpu, mem::PoolKind::kGang};

uint64_t device_writes(io::BioDevice& d) { return d.stats().snapshot().write_submissions; }

// Random writes (sizes from 1 byte to 40 KiB, any alignment) over two files, checked against
// the model after every operation and on the device after fsync.
void random_workload(PageCache& c, io::MemDevice& mem, std::mt19937_64& rng, int ops) {
  FileModel a(2, 96, 1000, 3000, 40), b(3, 64, 2000, 4000, 17);
  std::vector<char> buf(48 << 10);
  for (int i = 0; i < ops; ++i) {
    FileModel& f = (rng() & 1) ? a : b;
    size_t len = 1 + rng() % (rng() % 4 == 0 ? 40960 : 9000);
    uint64_t off = rng() % (f.nblocks * 4096 - len);
    test::fill_random(rng, buf.data(), len);
    REQUIRE(f.write(c, off, buf.data(), len) == 0);
    uint64_t roff = rng() % (f.nblocks * 4096 - 20000);
    REQUIRE(f.check(c, roff, 1 + rng() % 20000));
    if (rng() % 16 == 0) REQUIRE(c.fsync(f.ino) == 0);
  }
  REQUIRE(c.fsync(a.ino) == 0);
  REQUIRE(c.fsync(b.ino) == 0);
  CHECK(a.on_device(mem.bytes().data()));
  CHECK(b.on_device(mem.bytes().data()));
  CHECK(a.check(c, 0, a.nblocks * 4096));
  CHECK(b.check(c, 0, b.nblocks * 4096));
  CHECK(c.dirty_bytes() == 0);
}

}  // namespace

TEST_CASE("random writes and reads are correct for every write strategy and page allocator") {
  for (WriteStrategy w : kWrites) {
    for (mem::PoolKind k : kPools) {
      std::string ws = cache::to_string(w);
      CAPTURE(ws);
      std::string ks = mem::to_string(k);
      CAPTURE(ks);
      io::MemDevice mem(kDev, limits());
      io::SyncBioDevice bdev(mem);
      auto pool = mem::make_page_pool(pool_opts(k));
      std::mt19937_64 rng(42);
      {
        PageCache c(bdev, *pool, quiet(w));
        random_workload(c, mem, rng, 300);
        if (w == WriteStrategy::kSync) CHECK(c.stats().sync_writes.load() > 0);
        else CHECK(c.stats().written_pages.load() > 0);
      }
      CHECK(pool->stats().pages_in_use == 0);  // the destructor gave every page back
    }
  }
}

TEST_CASE("partial pages: fresh blocks read as zeros around the write, old blocks are read first") {
  io::MemDevice mem(kDev, limits());
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  // Old content on the device at block 100.
  std::memset(mem.bytes().data() + 100 * 4096, 'o', 4096);
  PageCache c(bdev, *pool, quiet(WriteStrategy::kChain));
  char w[10];
  std::memset(w, 'w', sizeof w);
  // File 7: lblk 0 -> phys 100 (old), lblk 1 -> phys 101 (fresh: the device has junk there).
  std::memset(mem.bytes().data() + 101 * 4096, 'j', 4096);
  REQUIRE(c.write(7, 0, 100, 1, 5, w, sizeof w, false) == 0);
  REQUIRE(c.write(7, 1, 101, 1, 4096 + 5, w, sizeof w, true) == 0);
  CHECK(c.stats().rmw_reads.load() == 1);
  std::vector<char> got(8192);
  REQUIRE(c.read(7, 0, 100, 2, 0, got.data(), got.size()) == 0);
  for (int i = 0; i < 4096; ++i) REQUIRE(got[i] == (i >= 5 && i < 15 ? 'w' : 'o'));
  for (int i = 0; i < 4096; ++i) REQUIRE(got[4096 + i] == (i >= 5 && i < 15 ? 'w' : 0));
  REQUIRE(c.fsync(7) == 0);
  CHECK(std::memcmp(mem.bytes().data() + 100 * 4096, got.data(), 8192) == 0);
}

TEST_CASE("a page re-dirtied during writeback stays dirty and its new content reaches the device") {
  io::MemDevice mem(kDev, limits());
  test::GateDevice gate(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  PageCache c(gate, *pool, quiet(WriteStrategy::kChain));
  std::vector<char> v1(4096, '1'), v2(4096, '2');
  REQUIRE(c.write(9, 0, 50, 1, 0, v1.data(), 4096, true) == 0);
  REQUIRE(c.writeback(9, false) == 0);
  REQUIRE(gate.held() == 1);
  auto s = c.page_state(9, 0);
  CHECK((s.writeback && !s.dirty));
  // Write while the request is in flight: the request keeps its own (old) buffer.
  REQUIRE(c.write(9, 0, 50, 1, 100, v2.data(), 100, false) == 0);
  s = c.page_state(9, 0);
  CHECK((s.writeback && s.dirty));
  CHECK(c.stats().redirtied.load() == 1);
  gate.release([](io::Bio&) { return true; });
  s = c.page_state(9, 0);
  CHECK((!s.writeback && s.dirty));  // still dirty after the completion
  CHECK(mem.bytes()[50 * 4096 + 100] == '1');
  gate.open();
  REQUIRE(c.fsync(9) == 0);
  CHECK(mem.bytes()[50 * 4096 + 99] == '1');
  CHECK(mem.bytes()[50 * 4096 + 100] == '2');
  CHECK(mem.bytes()[50 * 4096 + 199] == '2');
  CHECK(mem.bytes()[50 * 4096 + 200] == '1');
  CHECK(!c.page_state(9, 0).dirty);
}

TEST_CASE("fsync waits for exactly its file's pages") {
  io::MemDevice mem(kDev, limits());
  test::GateDevice gate(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  PageCache c(gate, *pool, quiet(WriteStrategy::kChain));
  std::vector<char> a(8 * 4096, 'a'), b(8 * 4096, 'b');
  REQUIRE(c.write(1, 0, 100, 8, 0, a.data(), a.size(), true) == 0);  // file 1 at blocks 100..107
  REQUIRE(c.write(2, 0, 300, 8, 0, b.data(), b.size(), true) == 0);  // file 2 at blocks 300..307
  REQUIRE(c.writeback_all(false) == 0);                               // both in flight, held
  REQUIRE(gate.held() >= 2);
  auto is_file2 = [](io::Bio& bio) { return bio.offset() >= 300 * 4096; };
  std::atomic<bool> done{false};
  int result = -1;
  std::thread t([&] {
    result = c.fsync(2);
    done = true;
  });
  // File 1's requests complete: file 2's fsync must not return.
  gate.release([&](io::Bio& bio) { return !is_file2(bio); });
  CHECK(c.fsync(1) == 0);  // file 1 is done, without waiting for file 2
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(!done.load());
  CHECK(c.page_state(2, 0).writeback);
  gate.release(is_file2);
  t.join();
  CHECK(result == 0);
  CHECK(std::memcmp(mem.bytes().data() + 300 * 4096, b.data(), b.size()) == 0);
  gate.open();
}

TEST_CASE("EIO on chosen sectors reaches fsync once, and only that file's") {
  for (WriteStrategy w : {WriteStrategy::kPage, WriteStrategy::kChain}) {
    std::string ws = cache::to_string(w);
      CAPTURE(ws);
    io::MemDevice mem(kDev, limits());
    io::FaultyDevice faulty(mem, false);
    io::SyncBioDevice bdev(faulty);
    auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
    PageCache c(bdev, *pool, quiet(w));
    faulty.fail_range(101 * 4096 + 512, 512, io::FaultyDevice::kWrite);
    std::vector<char> a(4 * 4096, 'a'), b(4 * 4096, 'b');
    REQUIRE(c.write(1, 0, 100, 4, 0, a.data(), a.size(), true) == 0);
    REQUIRE(c.write(2, 0, 200, 4, 0, b.data(), b.size(), true) == 0);
    CHECK(c.fsync(1) == -EIO);
    CHECK(c.fsync(1) == 0);  // reported once
    CHECK(c.fsync(2) == 0);
    CHECK(c.stats().write_errors.load() >= 1);
    CHECK(std::memcmp(mem.bytes().data() + 200 * 4096, b.data(), b.size()) == 0);
    // Blocks outside the failed request reached the device (page: all but one; chain: the
    // failed request took its neighbours with it).
    if (w == WriteStrategy::kPage) {
      CHECK(std::memcmp(mem.bytes().data() + 100 * 4096, a.data(), 4096) == 0);
      CHECK(std::memcmp(mem.bytes().data() + 102 * 4096, a.data(), 2 * 4096) == 0);
    }
    // After the fault clears, new writes succeed again.
    faulty.clear_faults();
    REQUIRE(c.write(1, 1, 101, 1, 4096, a.data(), 4096, false) == 0);
    CHECK(c.fsync(1) == 0);
    CHECK(std::memcmp(mem.bytes().data() + 101 * 4096, a.data(), 4096) == 0);
  }
}

TEST_CASE("write_strategy=sync returns the device error from write and drops the blocks") {
  io::MemDevice mem(kDev, limits());
  io::FaultyDevice faulty(mem, false);
  io::SyncBioDevice bdev(faulty);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  PageCache c(bdev, *pool, quiet(WriteStrategy::kSync));
  faulty.fail_range(100 * 4096, 4096, io::FaultyDevice::kWrite);
  std::vector<char> a(2 * 4096, 'a');
  CHECK(c.write(1, 0, 100, 2, 0, a.data(), a.size(), true) == -EIO);
  CHECK(!c.page_state(1, 0).present);
  CHECK(c.write(1, 0, 200, 2, 0, a.data(), a.size(), true) == 0);  // elsewhere: fine, and on disk
  CHECK(std::memcmp(mem.bytes().data() + 200 * 4096, a.data(), a.size()) == 0);
  CHECK(c.fsync(1) == 0);
  // Both writes are in the device's statistics (what -o stats= reports), the first as an error.
  auto st = bdev.stats().snapshot();
  CHECK(st.write_submissions == 2);
  CHECK(st.write_bytes == 2 * a.size());
  CHECK(st.errors == 1);
}

TEST_CASE("a cache of a few pages still makes progress, for every strategy") {
  for (WriteStrategy w : kWrites) {
    for (ReadStrategy r : {ReadStrategy::kPage, ReadStrategy::kGang}) {
      std::string ws = cache::to_string(w);
      CAPTURE(ws);
      std::string rs = cache::to_string(r);
      CAPTURE(rs);
      io::MemDevice mem(kDev, limits());
      io::SyncBioDevice bdev(mem);
      auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang, 8));
      PageCache c(bdev, *pool, quiet(w, r));
      FileModel f(5, 512, 10000, 13000, 300);
      std::mt19937_64 rng(7);
      std::vector<char> buf(64 << 10);
      for (uint64_t off = 0; off < f.nblocks * 4096; off += 8192) {
        test::fill_random(rng, buf.data(), 8192);
        REQUIRE(f.write(c, off, buf.data(), 8192) == 0);
      }
      // Large unaligned writes and reads, each bigger than the whole cache.
      for (int i = 0; i < 20; ++i) {
        size_t len = 20000 + rng() % 40000;
        uint64_t off = rng() % (f.nblocks * 4096 - len);
        test::fill_random(rng, buf.data(), len);
        REQUIRE(f.write(c, off, buf.data(), len) == 0);
        REQUIRE(f.check(c, rng() % (f.nblocks * 4096 - 60000), 60000));
      }
      REQUIRE(c.fsync(5) == 0);
      CHECK(f.on_device(mem.bytes().data()));
      CHECK(f.check(c, 0, f.nblocks * 4096));
      CHECK(c.stats().evictions.load() > 0);
      CHECK(c.stats().pages.load() <= 8 + 64);  // the cap, plus what one call may hold
    }
  }
}

TEST_CASE("streaming writeback starts before fsync once a run reaches the largest request") {
  io::MemDevice mem(kDev, limits(64));  // 16-page requests
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  PageCache c(bdev, *pool, quiet(WriteStrategy::kChain));
  REQUIRE(c.max_request_pages() == 16);
  FileModel f(4, 64, 500, 600, 64);
  std::vector<char> buf(8192, 's');
  for (uint64_t off = 0; off < 40 * 4096; off += 8192) REQUIRE(f.write(c, off, buf.data(), buf.size()) == 0);
  // 40 pages written, no fsync: two full runs of 16 went out, as two 64 KiB requests.
  auto st = bdev.stats().snapshot();
  CHECK(st.write_submissions == 2);
  CHECK(st.write_bytes == 2 * 64 * 1024);
  CHECK(c.stats().wb_pages[static_cast<int>(Trigger::kStream)].load() == 32);
  CHECK(c.dirty_bytes() == 8 * 4096);
  CHECK(std::memcmp(mem.bytes().data() + 500 * 4096, f.data.data(), 32 * 4096) == 0);
  REQUIRE(c.fsync(4) == 0);
  CHECK(f.on_device(mem.bytes().data()));
}

TEST_CASE("chain merges a file's dirty pages into the largest requests; page sends one per page") {
  for (WriteStrategy w : {WriteStrategy::kPage, WriteStrategy::kChain}) {
    io::MemDevice mem(kDev, limits(256));  // 64-page requests
    io::SyncBioDevice bdev(mem);
    auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
    CacheOptions o = quiet(w);
    o.stream_writeback = false;
    PageCache c(bdev, *pool, o);
    std::vector<char> buf(4096, 'x');
    // 256 pages written backwards (worst order), one page per call.
    for (uint64_t b = 256; b-- > 0;) REQUIRE(c.write(1, b, 1000 + b, 1, b * 4096, buf.data(), 4096, true) == 0);
    REQUIRE(c.fsync(1) == 0);
    CHECK(device_writes(bdev) == (w == WriteStrategy::kChain ? 4u : 256u));
  }
}

TEST_CASE("sequential small writes take consecutive memory from a per-file gang, even interleaved with another file") {
  // Two files written alternately, 8 KiB at a time: through the per-thread path their pages
  // would interleave in memory (one segment per 8 KiB); a write gang keeps each file's run of
  // blocks in one run of memory, so a 1 MiB request needs a few segments.
  io::MemDevice mem(kDev, limits(1024));  // 256-page requests
  io::SyncBioDevice bdev(mem);
  mem::PoolOptions po = pool_opts(mem::PoolKind::kGang);
  po.gang_pages = 64;
  auto pool = mem::make_page_pool(po);
  CacheOptions o = quiet(WriteStrategy::kChain);
  o.stream_writeback = false;
  PageCache c(bdev, *pool, o);
  std::vector<char> a(8192, 'a'), b(8192, 'b');
  for (uint64_t blk = 0; blk < 256; blk += 2) {
    REQUIRE(c.write(1, blk, 1000 + blk, 2, blk * 4096, a.data(), a.size(), true) == 0);
    REQUIRE(c.write(2, blk, 5000 + blk, 2, blk * 4096, b.data(), b.size(), true) == 0);
  }
  REQUIRE(c.fsync(1) == 0);
  auto st = bdev.stats().snapshot();
  CHECK(st.write_submissions == 1);
  // The first kWriteGangAfter blocks come from the thread cache (interleaved: one segment per
  // 8 KiB write), the rest from gangs of kWriteGang pages: segments of at most 64 KiB (the
  // device's max_segment_size), plus one where an arena's free run ends. Without gangs: 128.
  const uint64_t gangs = (256 - cache::kWriteGangAfter + cache::kWriteGang - 1) / cache::kWriteGang;
  const uint64_t per_gang = cache::kWriteGang * 4096 / 65536 + 1;
  CHECK(st.segments <= cache::kWriteGangAfter / 2 + gangs * per_gang);
  CHECK(st.write_bytes == 256 * 4096);
  std::vector<char> back(256 * 4096);
  REQUIRE(mem.read(1000 * 4096, back.data(), back.size()) == 0);
  CHECK(std::all_of(back.begin(), back.end(), [](char ch) { return ch == 'a'; }));
  REQUIRE(c.fsync(2) == 0);
  REQUIRE(mem.read(5000 * 4096, back.data(), back.size()) == 0);
  CHECK(std::all_of(back.begin(), back.end(), [](char ch) { return ch == 'b'; }));
  c.forget(1);
  c.forget(2);
}

TEST_CASE("writeback_all goes in device-offset order across files, merging neighbours") {
  io::MemDevice mem(kDev, limits());
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  CacheOptions o = quiet(WriteStrategy::kChain);
  PageCache c(bdev, *pool, o);
  std::vector<char> buf(4096, 'y');
  // 32 one-block files on consecutive blocks, created in a shuffled order.
  std::vector<uint64_t> order(32);
  for (uint64_t i = 0; i < 32; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  for (uint64_t i : order) REQUIRE(c.write(100 + i, 0, 700 + i, 1, 0, buf.data(), 4096, true) == 0);
  REQUIRE(c.writeback_all(true) == 0);
  CHECK(device_writes(bdev) == 1);
  CHECK(c.stats().wb_pages[static_cast<int>(Trigger::kSyncAll)].load() == 32);
}

TEST_CASE("invalidate, remap and forget") {
  io::MemDevice mem(kDev, limits());
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  PageCache c(bdev, *pool, quiet(WriteStrategy::kChain));
  std::vector<char> buf(8 * 4096, 'i');
  REQUIRE(c.write(3, 0, 100, 8, 0, buf.data(), buf.size(), true) == 0);
  // Truncate to 4 blocks: the dirty pages past it never reach the device.
  c.invalidate(3, 4, UINT64_MAX);
  CHECK(!c.page_state(3, 4).present);
  CHECK(c.page_state(3, 3).dirty);
  CHECK(c.dirty_bytes() == 4 * 4096);
  // Block 2 moves to 900.
  c.remap(3, 2, 900);
  CHECK(c.page_state(3, 2).phys == 900);
  REQUIRE(c.fsync(3) == 0);
  CHECK(mem.bytes()[104 * 4096] == 0);
  CHECK(mem.bytes()[102 * 4096] == 0);
  CHECK(mem.bytes()[900 * 4096] == 'i');
  CHECK(mem.bytes()[103 * 4096] == 'i');
  // remap of a clean page makes it dirty at its new place.
  c.remap(3, 3, 901);
  CHECK(c.page_state(3, 3).dirty);
  REQUIRE(c.fsync(3) == 0);
  CHECK(mem.bytes()[901 * 4096] == 'i');
  // forget drops everything, dirty pages too.
  REQUIRE(c.write(3, 0, 100, 1, 0, buf.data(), 4096, false) == 0);
  c.forget(3);
  CHECK(!c.page_state(3, 0).present);
  CHECK(c.stats().pages.load() == 0);
  CHECK(c.dirty_bytes() == 0);
  CHECK(pool->stats().pages_in_use == 0);
}

TEST_CASE("reads: gang reads a sequential file in few requests with readahead; page in one per page") {
  for (ReadStrategy r : {ReadStrategy::kPage, ReadStrategy::kGang}) {
    std::string rs = cache::to_string(r);
      CAPTURE(rs);
    io::MemDevice mem(kDev, limits());
    io::SyncBioDevice bdev(mem);
    auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
    for (uint64_t b = 0; b < 256; ++b) std::memset(mem.bytes().data() + (2000 + b) * 4096, static_cast<int>(b + 1), 4096);
    PageCache c(bdev, *pool, quiet(WriteStrategy::kChain, r));
    std::vector<char> buf(4096);
    for (uint64_t b = 0; b < 256; ++b) {
      REQUIRE(c.read(8, 0, 2000, 256, b * 4096, buf.data(), 4096) == 0);
      REQUIRE(buf[0] == static_cast<char>(b + 1));
      REQUIRE(buf[4095] == static_cast<char>(b + 1));
    }
    auto reqs = c.stats().read_requests.load();
    if (r == ReadStrategy::kPage) {
      CHECK(reqs == 256);
      CHECK(c.stats().readahead_pages.load() == 0);
    } else {
      CHECK(reqs < 16);
      CHECK(c.stats().readahead_pages.load() > 200);
      CHECK(c.stats().hits.load() > 200);
    }
    // Everything is cached now: a second pass reads nothing.
    for (uint64_t b = 0; b < 256; ++b) REQUIRE(c.read(8, 0, 2000, 256, b * 4096, buf.data(), 4096) == 0);
    CHECK(c.stats().read_requests.load() == reqs);
  }
}

TEST_CASE("readahead: reads arriving out of order still stream, in window-sized device requests") {
  // 128 KiB reads of a 4 MiB file in pairs swapped (1, 0, 3, 2, ...), as the kernel's
  // readahead requests come in on two FUSE threads: the window still grows, and the device
  // sees requests of the window (256 pages = 1 MiB), not of the read.
  io::MemDevice mem(kDev, limits());
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  for (uint64_t b = 0; b < 1024; ++b) std::memset(mem.bytes().data() + (3000 + b) * 4096, static_cast<int>(b % 251 + 1), 4096);
  PageCache c(bdev, *pool, quiet(WriteStrategy::kChain));
  std::vector<char> buf(32 * 4096);
  for (uint64_t pair = 0; pair < 16; ++pair) {
    for (uint64_t k : {2 * pair + 1, 2 * pair}) {
      REQUIRE(c.read(9, 0, 3000, 1024, k * buf.size(), buf.data(), buf.size()) == 0);
      for (uint64_t i = 0; i < 32; ++i) REQUIRE(buf[i * 4096] == static_cast<char>((k * 32 + i) % 251 + 1));
    }
  }
  auto st = bdev.stats().snapshot();
  CHECK(st.read_bytes == 1024 * 4096);  // every page read once
  CHECK(st.read_submissions <= 12);     // 32 without the tolerance or the window-sized top-up
  CHECK(c.stats().readahead_pages.load() > 700);  // all but the first reads' own pages
}

TEST_CASE("readahead: reading the file again from its start streams again after eviction") {
  // A cache of 512 pages and a 1024-page file read twice in 128 KiB reads: the second pass
  // finds nothing cached (evicted) and must not trust how far the first pass read ahead.
  io::MemDevice mem(kDev, limits());
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang, 512));
  PageCache c(bdev, *pool, quiet(WriteStrategy::kChain));
  std::vector<char> buf(32 * 4096);
  uint64_t before = 0;
  for (int pass = 0; pass < 2; ++pass) {
    before = bdev.stats().snapshot().read_submissions;
    for (uint64_t k = 0; k < 32; ++k) REQUIRE(c.read(10, 0, 4000, 1024, k * buf.size(), buf.data(), buf.size()) == 0);
  }
  CHECK(bdev.stats().snapshot().read_submissions - before <= 16);  // 32 when readahead stays off
}

TEST_CASE("the timer and the dirty threshold start writeback without fsync") {
  io::MemDevice mem(kDev, limits());
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang));
  auto wait_clean = [](PageCache& c) {
    for (int i = 0; i < 500 && c.dirty_bytes() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return c.dirty_bytes() == 0;
  };
  std::vector<char> buf(4096, 't');
  {
    CacheOptions o = quiet(WriteStrategy::kChain);
    o.flush_interval_ms = 20;
    PageCache c(bdev, *pool, o);
    REQUIRE(c.write(1, 0, 100, 1, 0, buf.data(), 4096, true) == 0);
    CHECK(wait_clean(c));
    CHECK(c.stats().wb_pages[static_cast<int>(Trigger::kTimer)].load() == 1);
  }
  {
    CacheOptions o = quiet(WriteStrategy::kChain);
    o.stream_writeback = false;
    o.dirty_limit_bytes = 8 * 4096;
    PageCache c(bdev, *pool, o);
    for (uint64_t b = 0; b < 9; ++b) REQUIRE(c.write(1, b, 200 + b, 1, b * 4096, buf.data(), 4096, true) == 0);
    CHECK(wait_clean(c));
    CHECK(c.stats().wb_pages[static_cast<int>(Trigger::kThreshold)].load() == 9);
  }
  {
    // A writer faster than the flusher is throttled at twice the threshold.
    CacheOptions o = quiet(WriteStrategy::kChain);
    o.stream_writeback = false;
    o.dirty_limit_bytes = 8 * 4096;
    PageCache c(bdev, *pool, o);
    uint64_t most = 0;
    for (uint64_t b = 0; b < 200; ++b) {
      REQUIRE(c.write(1, b, 300 + b, 1, b * 4096, buf.data(), 4096, true) == 0);
      most = std::max(most, c.dirty_bytes() / 4096);
    }
    CHECK(most <= 16);
    REQUIRE(c.fsync(1) == 0);
    CHECK(mem.bytes()[499 * 4096] == 't');
  }
}

TEST_CASE("many threads on different files, with a small cache, the flusher and stream writeback") {
  for (WriteStrategy w : kWrites) {
    std::string ws = cache::to_string(w);
      CAPTURE(ws);
    io::MemDevice mem(kDev, limits(128));
    io::SyncBioDevice bdev(mem);
    auto pool = mem::make_page_pool(pool_opts(mem::PoolKind::kGang, 256));
    CacheOptions o = quiet(w);
    o.flush_interval_ms = 5;
    std::atomic<int> failures{0};
    {
      PageCache c(bdev, *pool, o);
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          FileModel f(10 + t, 128, 1000 + 1000 * t, 1500 + 1000 * t, 64);
          std::mt19937_64 rng(t);
          std::vector<char> buf(40000), got(40000);
          for (int i = 0; i < 150; ++i) {
            size_t len = 1 + rng() % 40000;
            uint64_t off = rng() % (f.nblocks * 4096 - len);
            test::fill_random(rng, buf.data(), len);
            if (f.write(c, off, buf.data(), len) != 0) ++failures;
            if (!f.check(c, rng() % (f.nblocks * 4096 - 40000), 40000)) ++failures;
            if (i % 50 == 0 && c.fsync(f.ino) != 0) ++failures;
          }
          if (c.fsync(f.ino) != 0) ++failures;
          if (!f.on_device(mem.bytes().data())) ++failures;
        });
      }
      for (auto& t : threads) t.join();
    }
    CHECK(failures.load() == 0);
  }
}
