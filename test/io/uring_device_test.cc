#include "io/uring_device.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "io/bio_chain.h"
#include "io_test_util.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;
using io::Bio;
using io::BioOp;
using io::CompletionMode;
using io::PageView;

namespace {

std::unique_ptr<io::UringDevice> open_dev(const std::string& path, io::UringOptions uo) {
  std::unique_ptr<io::UringDevice> dev;
  REQUIRE(io::UringDevice::open(path, {}, uo, &dev) == 0);
  return dev;
}

io::UringOptions with_mode(CompletionMode m) {
  io::UringOptions uo;
  uo.completion = m;
  return uo;
}

const CompletionMode kModes[] = {CompletionMode::kInline, CompletionMode::kThread, CompletionMode::kWaiter};

// Reads waited for by the thread that builds the chain, one request per page.
io::ChainOptions inline_page_reads() {
  io::ChainOptions co;
  co.op = BioOp::kRead;
  co.merge = false;
  co.inline_completion = true;
  return co;
}

}  // namespace

TEST_CASE("UringDevice: synchronous readv/writev/flush round trip in every completion mode") {
  for (CompletionMode m : kModes) {
    CAPTURE(io::to_string(m));
    test::TempImage img(4 << 20);
    auto dev = open_dev(img.path(), with_mode(m));
    CHECK(dev->size_bytes() == (4u << 20));
    mem::AlignedBuffer a(8192), b(4096), r(12288);
    test::fill_pattern(a.data(), 4096, 8192, 7);
    test::fill_pattern(b.data(), 4096 + 8192, 4096, 7);
    struct iovec v[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    REQUIRE(dev->writev(4096, v, 2) == 0);
    REQUIRE(dev->flush() == 0);
    REQUIRE(dev->read(4096, r.data(), r.size()) == 0);
    CHECK(test::check_pattern(r.data(), 4096, 12288, 7));
    CHECK(dev->read((4 << 20) - 4096, r.data(), 8192) == -EIO);
    CHECK(dev->write(4 << 20, a.data(), 4096) == -EIO);
    auto s = dev->stats().snapshot();
    CHECK(s.write_submissions == 1);  // one vectored request
    CHECK(s.flush_submissions == 1);
    CHECK(s.read_submissions == 1);
    CHECK(s.completions == 3);
    CHECK(dev->in_flight() == 0);
  }
}

TEST_CASE("UringDevice: a request over the limits is split into views and completes once") {
  test::TempImage img(8 << 20);
  io::UringOptions uo;
  io::QueueLimits l;
  l.logical_block_size = 512;
  l.max_sectors_kb = 64;
  l.max_segments = 4;
  uo.limits = l;
  auto dev = open_dev(img.path(), uo);
  mem::AlignedBuffer big(1 << 20), back(1 << 20);
  test::fill_pattern(big.data(), 1 << 20, 1 << 20, 9);
  REQUIRE(dev->write(1 << 20, big.data(), big.size()) == 0);
  REQUIRE(dev->read(1 << 20, back.data(), back.size()) == 0);
  CHECK(test::check_pattern(back.data(), 1 << 20, 1 << 20, 9));
  auto s = dev->stats().snapshot();
  CHECK(s.write_submissions == 16);
  CHECK(s.read_submissions == 16);
  CHECK(s.splits_max_sectors == 30);
  CHECK(s.in_flight_hwm >= 2);
}

TEST_CASE("completion callbacks run where the completion mode says") {
  for (CompletionMode m : kModes) {
    CAPTURE(io::to_string(m));
    test::TempImage img(1 << 20);
    auto dev = open_dev(img.path(), with_mode(m));
    mem::AlignedBuffer buf(4096);
    std::vector<std::thread::id> seen;
    std::atomic<int> done{0};
    Bio bios[8];
    for (int i = 0; i < 8; ++i) {
      bios[i].reset(BioOp::kWrite, uint64_t(i) * 4096);
      bios[i].add_segment(buf.data(), 4096);
      // Only the callback thread touches `seen` until `done` says all have run.
      bios[i].push_end_io([&](Bio&, int st) {
        CHECK(st == 0);
        seen.push_back(std::this_thread::get_id());
        done.fetch_add(1, std::memory_order_release);
      });
    }
    Bio* ptrs[8];
    for (int i = 0; i < 8; ++i) ptrs[i] = &bios[i];
    dev->submit(ptrs, 8);
    dev->wait_until([&] { return done.load(std::memory_order_acquire) == 8; });
    REQUIRE(seen.size() == 8);
    for (auto id : seen) {
      switch (m) {
        case CompletionMode::kThread:
          CHECK(id == dev->completion_thread_id());
          CHECK(id != dev->reaper_thread_id());
          CHECK(id != std::this_thread::get_id());
          break;
        case CompletionMode::kInline: CHECK(id == dev->reaper_thread_id()); break;
        case CompletionMode::kWaiter: CHECK(id == std::this_thread::get_id()); break;
      }
    }
  }
}

TEST_CASE("an inline-completion bio completes in the thread that waits for it, on a ring of its own, split or not") {
  for (CompletionMode m : kModes) {
    CAPTURE(io::to_string(m));
    test::TempImage img(1 << 20);
    io::QueueLimits l;
    l.logical_block_size = 512;
    l.max_sectors_kb = 64;
    l.max_segments = 4;
    io::UringOptions uo = with_mode(m);
    uo.limits = l;
    auto dev = open_dev(img.path(), uo);
    mem::AlignedBuffer buf(256 << 10);
    for (uint64_t bytes : {uint64_t{4096}, uint64_t{256} << 10}) {  // the larger one is split
      CAPTURE(bytes);
      std::thread::id seen;
      std::atomic<bool> done{false};
      Bio b;
      b.reset(BioOp::kRead, 0);
      b.add_segment(buf.data(), bytes);
      b.set_inline_completion(true);
      b.push_end_io([&](Bio&, int st) {
        CHECK(st == 0);
        seen = std::this_thread::get_id();
        done.store(true, std::memory_order_release);
      });
      dev->submit(b);
      CHECK(dev->in_flight() > 0);
      dev->wait_until([&] { return done.load(std::memory_order_acquire); });
      CHECK(seen == std::this_thread::get_id());
      CHECK(dev->in_flight() == 0);
    }
    // One ring, lent to this thread twice; the shared ring's reaper saw none of it.
    CHECK(dev->own_rings() == 1);
    auto s = dev->stats().snapshot();
    CHECK(s.read_submissions == 1 + 4);
    CHECK(s.completions == 1 + 4);
  }
}

TEST_CASE("inline-completion bios beyond a thread's ring are reaped before more go in") {
  test::TempImage img(4 << 20);
  io::UringOptions uo;
  uo.queue_depth = 4;  // the thread's ring has as many entries
  auto dev = open_dev(img.path(), uo);
  test::Mapping buf(64 * 4096);
  test::fill_pattern(buf.data, 0, 64 * 4096, 29);
  std::vector<Bio> bios(64);
  std::vector<Bio*> ptrs;
  int done = 0;
  for (int i = 0; i < 64; ++i) {
    bios[i].reset(BioOp::kWrite, uint64_t(i) * 4096);
    bios[i].add_segment(buf.data + i * 4096, 4096);
    bios[i].set_inline_completion(true);
    bios[i].push_end_io([&](Bio&, int st) {
      CHECK(st == 0);
      ++done;  // only this thread runs them
    });
    ptrs.push_back(&bios[i]);
  }
  dev->submit(ptrs.data(), ptrs.size());
  CHECK(done >= 60);  // all but the last ring's worth finished while submitting
  dev->wait_until([&] { return done == 64; });
  auto s = dev->stats().snapshot();
  CHECK(s.in_flight_hwm <= 4);
  CHECK(s.write_submissions == 64);
  mem::AlignedBuffer back(64 * 4096);
  REQUIRE(dev->read(0, back.data(), back.size()) == 0);
  CHECK(test::check_pattern(back.data(), 0, back.size(), 29));
  CHECK(dev->own_rings() == 1);
}

TEST_CASE("a chain of inline reads that empties its pool reaps its own ring to get requests back") {
  test::TempImage img(4 << 20);
  auto dev = open_dev(img.path(), {});
  test::Mapping data(1 << 20);
  test::fill_pattern(data.data, 0, 1 << 20, 31);
  REQUIRE(dev->write(0, data.data, 1 << 20) == 0);
  io::BioPool pool(*dev, 2);
  mem::AlignedBuffer back(1 << 20);
  {
    io::BioChain chain(pool, inline_page_reads());  // 256 requests through a pool of 2
    for (uint64_t off = 0; off < (1 << 20); off += 4096) chain.append(PageView{back.data() + off, 0, 4096}, off);
    CHECK(chain.wait() == 0);
    CHECK(chain.submitted() == 256);
  }
  CHECK(test::check_pattern(back.data(), 0, 1 << 20, 31));
  CHECK(dev->stats().snapshot().backup_waits > 0);
  CHECK(pool.free_count() == 2);
}

TEST_CASE("threads whose inline reads share one small pool wake each other when requests come back") {
  // Each thread reaps only its own ring: a thread waiting for a request another thread's
  // ring holds must be woken when that thread puts it back.
  test::TempImage img(4 << 20);
  auto dev = open_dev(img.path(), {});
  test::Mapping data(1 << 20);
  test::fill_pattern(data.data, 0, 1 << 20, 37);
  REQUIRE(dev->write(0, data.data, 1 << 20) == 0);
  io::BioPool pool(*dev, 2);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      mem::AlignedBuffer back(256 << 10);
      for (int round = 0; round < 8; ++round) {
        io::BioChain chain(pool, inline_page_reads());
        for (uint64_t off = 0; off < back.size(); off += 4096) chain.append(PageView{back.data() + off, 0, 4096}, off);
        if (chain.wait() != 0 || !test::check_pattern(back.data(), 0, back.size(), 37)) bad++;
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(bad.load() == 0);
  CHECK(pool.free_count() == 2);
}

TEST_CASE("threads waiting at once each have a ring; a thread holding another device's ring uses the shared one") {
  test::TempImage img(4 << 20), other(1 << 20);
  auto dev = open_dev(img.path(), {});
  auto dev2 = open_dev(other.path(), {});
  mem::AlignedBuffer buf(4096);
  // A bio of dev2 in flight from this thread holds dev2's ring; dev's inline bio then goes
  // through dev's shared ring (and its reaper), and both complete.
  std::thread::id seen1, seen2;
  std::atomic<bool> done1{false}, done2{false};
  Bio a, b;
  a.reset(BioOp::kRead, 0);
  a.add_segment(buf.data(), 4096);
  a.set_inline_completion(true);
  a.push_end_io([&](Bio&, int st) {
    CHECK(st == 0);
    seen2 = std::this_thread::get_id();
    done2.store(true, std::memory_order_release);
  });
  mem::AlignedBuffer buf2(4096);
  b.reset(BioOp::kRead, 0);
  b.add_segment(buf2.data(), 4096);
  b.set_inline_completion(true);
  b.push_end_io([&](Bio&, int st) {
    CHECK(st == 0);
    seen1 = std::this_thread::get_id();
    done1.store(true, std::memory_order_release);
  });
  dev2->submit(a);
  dev->submit(b);
  dev->wait_until([&] { return done1.load(std::memory_order_acquire); });
  dev2->wait_until([&] { return done2.load(std::memory_order_acquire); });
  CHECK(seen1 == dev->reaper_thread_id());
  CHECK(seen2 == std::this_thread::get_id());
  CHECK(dev->own_rings() == 0);
  CHECK(dev2->own_rings() == 1);
}

TEST_CASE("a 64 MiB write stream through the builder with 8 requests and 8 pages completes") {
  for (CompletionMode m : kModes) {
    CAPTURE(io::to_string(m));
    constexpr uint64_t kTotal = 64 << 20;
    test::TempImage img(kTotal);
    auto dev = open_dev(img.path(), with_mode(m));
    io::BioPool pool(*dev, 8);
    // Eight page buffers, reused as soon as the request holding them has completed.
    test::Mapping pages(8 * 4096);
    std::atomic<bool> busy[8];
    for (auto& b : busy) b.store(false);
    io::BioChain chain(pool, {}, [&](Bio& b, int st) {
      CHECK(st == 0);
      for (auto& p : b.pages()) static_cast<std::atomic<bool>*>(p.cookie)->store(false, std::memory_order_release);
    });
    int next = 0;
    for (uint64_t off = 0; off < kTotal; off += 4096) {
      int k = -1;
      for (int tries = 0; k < 0; ++tries) {
        for (int i = 0; i < 8 && k < 0; ++i) {
          int j = (next + i) % 8;
          if (!busy[j].load(std::memory_order_acquire)) k = j;
        }
        if (k < 0) {
          chain.submit();  // the pages we wait for may be in the request being built
          dev->wait_until([&] {
            for (auto& b : busy)
              if (!b.load(std::memory_order_acquire)) return true;
            return false;
          });
        }
      }
      next = (k + 1) % 8;
      busy[k].store(true);
      test::fill_pattern(pages.data + k * 4096, off, 4096, 11);
      chain.append(PageView{pages.data + k * 4096, 0, 4096}, off, &busy[k]);
    }
    CHECK(chain.wait() == 0);
    mem::AlignedBuffer back(1 << 20);
    bool ok = true;
    for (uint64_t off = 0; off < kTotal && ok; off += back.size()) {
      REQUIRE(dev->read(off, back.data(), back.size()) == 0);
      ok = test::check_pattern(back.data(), off, back.size(), 11);
    }
    CHECK(ok);
  }
}

TEST_CASE("with every request in flight, the builder waits for the oldest (backup request) and never fails") {
  constexpr uint64_t kTotal = 64 << 20;
  test::TempImage img(kTotal);
  io::UringOptions uo;
  io::QueueLimits l;
  l.max_sectors_kb = 64;
  uo.limits = l;
  auto dev = open_dev(img.path(), uo);
  io::BioPool pool(*dev, 8);
  test::Mapping data(kTotal);
  test::fill_pattern(data.data, 0, kTotal, 13);
  std::atomic<uint64_t> requests{0};
  {
    io::BioChain chain(pool, {}, [&](Bio&, int st) {
      CHECK(st == 0);
      requests.fetch_add(1);
    });
    for (uint64_t off = 0; off < kTotal; off += 8192) chain.append(PageView{data.data + off, 0, 8192}, off);
    CHECK(chain.wait() == 0);
  }
  CHECK(requests.load() == kTotal / 65536);
  auto s = dev->stats().snapshot();
  CHECK(s.backup_waits > 0);
  CHECK(s.in_flight_hwm <= 8);
  CHECK(pool.free_count() == 8);
  MESSAGE("backup waits: " << s.backup_waits << ", in-flight hwm: " << s.in_flight_hwm);
  mem::AlignedBuffer back(1 << 20);
  bool ok = true;
  for (uint64_t off = 0; off < kTotal && ok; off += back.size()) {
    REQUIRE(dev->read(off, back.data(), back.size()) == 0);
    ok = std::memcmp(back.data(), data.data + off, back.size()) == 0;
  }
  CHECK(ok);
}

TEST_CASE("registered buffers and file, or neither: same data") {
  for (bool reg : {true, false}) {
    CAPTURE(reg);
    test::TempImage img(4 << 20);
    io::UringOptions uo;
    uo.register_file = reg;
    uo.fixed_buffers = reg;
    auto dev = open_dev(img.path(), uo);
    test::Mapping arena(1 << 20);
    if (reg) {
      struct iovec region{arena.data, arena.size};
      REQUIRE(dev->register_buffers(&region, 1) == 0);
    }
    test::fill_pattern(arena.data, 0, 512 << 10, 5);
    for (uint64_t off = 0; off < (512 << 10); off += 4096) REQUIRE(dev->write(off, arena.data + off, 4096) == 0);
    REQUIRE(dev->read(0, arena.data + (512 << 10), 512 << 10) == 0);
    CHECK(test::check_pattern(arena.data + (512 << 10), 0, 512 << 10, 5));
  }
}

TEST_CASE("many threads share one device, in every completion mode") {
  for (CompletionMode m : kModes) {
    CAPTURE(io::to_string(m));
    test::TempImage img(16 << 20);
    auto dev = open_dev(img.path(), with_mode(m));
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&, t] {
        mem::AlignedBuffer buf(64 << 10), back(64 << 10);
        for (int i = 0; i < 32; ++i) {
          uint64_t off = (uint64_t(t) * 32 + i) * buf.size();
          test::fill_pattern(buf.data(), off, buf.size(), 17);
          if (dev->write(off, buf.data(), buf.size()) != 0) bad++;
          if (dev->read(off, back.data(), back.size()) != 0) bad++;
          if (!test::check_pattern(back.data(), off, back.size(), 17)) bad++;
        }
      });
    }
    for (auto& t : ts) t.join();
    CHECK(bad.load() == 0);
    CHECK(dev->stats().snapshot().completions == 4 * 32 * 2);
    // Synchronous requests: each thread reaped a ring of its own, at most one per thread.
    CHECK(dev->own_rings() >= 1);
    CHECK(dev->own_rings() <= 4);
  }
}

TEST_CASE("requests beyond the ring size wait for free slots: in flight stays bounded") {
  for (CompletionMode m : kModes) {
    CAPTURE(io::to_string(m));
    test::TempImage img(4 << 20);
    io::UringOptions uo = with_mode(m);
    uo.queue_depth = 4;
    auto dev = open_dev(img.path(), uo);
    test::Mapping buf(64 * 4096);
    test::fill_pattern(buf.data, 0, 64 * 4096, 23);
    std::vector<Bio> bios(64);
    std::vector<Bio*> ptrs;
    std::atomic<int> done{0};
    for (int i = 0; i < 64; ++i) {
      bios[i].reset(BioOp::kWrite, uint64_t(i) * 4096);
      bios[i].add_segment(buf.data + i * 4096, 4096);
      bios[i].push_end_io([&](Bio&, int st) {
        CHECK(st == 0);
        done.fetch_add(1, std::memory_order_release);
      });
      ptrs.push_back(&bios[i]);
    }
    dev->submit(ptrs.data(), ptrs.size());  // one call, 16 times the ring
    dev->wait_until([&] { return done.load(std::memory_order_acquire) == 64; });
    auto s = dev->stats().snapshot();
    CHECK(s.in_flight_hwm <= 4);
    CHECK(s.write_submissions == 64);
    mem::AlignedBuffer back(64 * 4096);
    REQUIRE(dev->read(0, back.data(), back.size()) == 0);
    CHECK(test::check_pattern(back.data(), 0, back.size(), 23));
  }
}

TEST_CASE("a short transfer is continued where it stopped, nothing more to transfer is EIO") {
  // A buffered image file: a read that crosses the end of the file comes back short, the
  // rest is resubmitted and then transfers nothing. On the shared ring and on the thread's own.
  for (bool inl : {false, true}) {
    CAPTURE(inl);
    test::TempImage img(1 << 20);
    io::OpenOptions oo;
    oo.direct = false;
    std::unique_ptr<io::UringDevice> dev;
    REQUIRE(io::UringDevice::open(img.path(), oo, {}, &dev) == 0);
    mem::AlignedBuffer buf(8192);
    Bio b;
    b.reset(BioOp::kRead, (1 << 20) - 4096);
    b.add_segment(buf.data(), 4096);
    b.add_segment(buf.data() + 4096, 4096);
    b.set_inline_completion(inl);
    std::atomic<int> status{1};
    b.push_end_io([&](Bio&, int st) { status.store(st, std::memory_order_release); });
    dev->submit(b);
    dev->wait_until([&] { return status.load(std::memory_order_acquire) != 1; });
    CHECK(status.load() == -EIO);
    CHECK(dev->stats().snapshot().resubmits == 1);
    CHECK(dev->own_rings() == (inl ? 1u : 0u));
  }
}
