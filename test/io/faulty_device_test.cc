#include "io/faulty_device.h"

#include <doctest/doctest.h>

#include <cstring>

#include "io/bio_chain.h"
#include "io/mem_device.h"
#include "io/sync_bio_device.h"
#include "io_test_util.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;
using io::FaultyDevice;

TEST_CASE("FaultyDevice fails chosen ranges with EIO, per operation") {
  io::MemDevice mem(1 << 20);
  FaultyDevice dev(mem, false);
  mem::AlignedBuffer buf(8192);
  dev.fail_range(16384, 512, FaultyDevice::kWrite);
  dev.fail_range(65536, 4096, FaultyDevice::kRead);
  dev.fail_range(131072, 1, FaultyDevice::kBoth);
  CHECK(dev.write(8192, buf.data(), 8192) == 0);       // ends right before the range
  CHECK(dev.write(12288, buf.data(), 8192) == -EIO);   // overlaps it
  CHECK(dev.read(12288, buf.data(), 8192) == 0);       // reads are not affected
  CHECK(dev.write(65536, buf.data(), 4096) == 0);
  CHECK(dev.read(61440, buf.data(), 8192) == -EIO);
  CHECK(dev.read(131072, buf.data(), 512) == -EIO);
  CHECK(dev.write(131072, buf.data(), 512) == -EIO);
  auto c = dev.counters();
  CHECK(c.injected_errors == 4);
  CHECK(c.writes == 4);
  CHECK(c.reads == 3);
  dev.clear_faults();
  CHECK(dev.write(12288, buf.data(), 8192) == 0);
}

TEST_CASE("FaultyDevice keeps unflushed writes in an overlay: flush applies it, crash drops it") {
  io::MemDevice mem(1 << 20);
  FaultyDevice dev(mem);
  mem::AlignedBuffer a(8192), b(4096), r(8192);
  test::fill_pattern(a.data(), 0, 8192, 1);
  test::fill_pattern(b.data(), 4096, 4096, 2);

  REQUIRE(dev.write(0, a.data(), 8192) == 0);
  CHECK(dev.unflushed_bytes() == 8192);
  REQUIRE(dev.read(0, r.data(), 8192) == 0);  // reads see unflushed data
  CHECK(std::memcmp(r.data(), a.data(), 8192) == 0);
  CHECK(mem.bytes()[0] == 0);                 // ... which is not on the device yet
  REQUIRE(dev.flush() == 0);
  CHECK(dev.unflushed_bytes() == 0);
  CHECK(std::memcmp(mem.bytes().data(), a.data(), 8192) == 0);
  CHECK(mem.flushes() == 1);

  REQUIRE(dev.write(4096, b.data(), 4096) == 0);  // overwrite the second block, then crash
  dev.crash();
  REQUIRE(dev.read(0, r.data(), 8192) == 0);
  CHECK(std::memcmp(r.data(), a.data(), 8192) == 0);  // the flushed version survives
  auto c = dev.counters();
  CHECK(c.crashes == 1);
  CHECK(c.dropped_bytes == 4096);
  CHECK(c.flushes == 1);
}

TEST_CASE("FaultyDevice refuses I/O past the end like the device it wraps") {
  io::MemDevice mem(65536);
  FaultyDevice dev(mem);
  mem::AlignedBuffer buf(8192);
  CHECK(dev.write(61440, buf.data(), 8192) == -EIO);
  CHECK(dev.read(61440, buf.data(), 8192) == -EIO);
}

TEST_CASE("writes through the builder are lost by a crash unless the device was flushed") {
  io::MemDevice mem(1 << 20);
  FaultyDevice faulty(mem);
  io::SyncBioDevice dev(faulty);
  io::BioPool pool(dev, 4);
  test::Mapping buf(64 * 1024);
  test::fill_pattern(buf.data, 0, 64 * 1024, 8);
  {
    io::BioChain chain(pool);
    for (uint64_t off = 0; off < 32768; off += 4096) chain.append({buf.data + off, 0, 4096}, off);
    REQUIRE(chain.wait() == 0);
  }
  {
    io::Bio flush;  // a flush request through the asynchronous side
    flush.reset(io::BioOp::kFlush, 0);
    int status = 1;
    flush.push_end_io([&](io::Bio&, int st) { status = st; });
    dev.submit(flush);
    REQUIRE(status == 0);
  }
  {
    io::BioChain chain(pool);
    for (uint64_t off = 32768; off < 65536; off += 4096) chain.append({buf.data + off, 0, 4096}, off);
    REQUIRE(chain.wait() == 0);
  }
  faulty.crash();
  CHECK(test::check_pattern(mem.bytes().data(), 0, 32768, 8));  // flushed: kept
  std::vector<char> zero(32768, 0);
  CHECK(std::memcmp(mem.bytes().data() + 32768, zero.data(), zero.size()) == 0);  // not flushed: gone
  CHECK(faulty.counters().dropped_bytes == 32768);
}
