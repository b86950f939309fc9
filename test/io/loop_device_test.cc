// Writes through the builder to a real loop device and checks, from the kernel's own
// counters (/sys/block/loopN/stat), that the requests reaching the device are large and
// that they agree with chainfs's statistics. Needs root and loop devices.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>

#include "io/bio_chain.h"
#include "io/block_stat.h"
#include "io/uring_device.h"
#include "io_test_util.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;

TEST_CASE("256 MiB in 8 KiB appends reach a loop device as requests of 512 KiB or more") {
  REQUIRE_MESSAGE(geteuid() == 0, "this test attaches a loop device and needs root");
  constexpr uint64_t kTotal = 256 << 20;
  test::TempImage img(kTotal + (4 << 20));
  test::LoopDevice loop(img.path(), /*direct_io=*/true);
  std::unique_ptr<io::UringDevice> dev;
  REQUIRE(io::UringDevice::open(loop.path(), {}, {}, &dev) == 0);
  MESSAGE("device " << loop.path() << " max_sectors_kb " << dev->limits().max_sectors_kb << " max_segments "
                    << dev->limits().max_segments << " max_segment_size " << dev->limits().max_segment_size);

  // Huge pages keep each request physically contiguous, so the kernel counts the segments
  // the way the builder does.
  test::Mapping data(kTotal, /*huge=*/true);
  test::fill_pattern(data.data, 0, kTotal, 21);

  io::BlockStat before{}, after{};
  REQUIRE(io::read_block_stat(loop.name(), &before) == 0);
  {
    io::BioPool pool(*dev, 32);
    io::BioChain chain(pool);
    for (uint64_t off = 0; off < kTotal; off += 8192) chain.append(io::PageView{data.data + off, 0, 8192}, off);
    REQUIRE(chain.wait() == 0);
  }
  REQUIRE(io::read_block_stat(loop.name(), &after) == 0);
  io::BlockStat d = after - before;
  auto s = dev->stats().snapshot();
  MESSAGE("sysfs: " << d.write_ios << " write requests, " << d.write_sectors << " sectors, average "
                    << d.avg_write_bytes() / 1024 << " KiB");
  MESSAGE("chainfs: " << s.write_submissions << " write submissions, " << s.write_bytes << " bytes, average "
                      << s.avg_write_bytes() / 1024 << " KiB, merges " << s.merges << ", splits " << s.splits
                      << ", backup waits " << s.backup_waits << ", in-flight hwm " << s.in_flight_hwm);
  CHECK(d.write_sectors * 512 == kTotal);
  CHECK(s.write_bytes == kTotal);
  CHECK(d.avg_write_bytes() >= 512 * 1024);
  CHECK(s.avg_write_bytes() >= 512 * 1024);
  // The device's view and ours agree (the kernel may merge or split a little).
  CHECK(double(d.write_ios) == doctest::Approx(double(s.write_submissions)).epsilon(0.10));

  // And the data is there.
  mem::AlignedBuffer back(4 << 20);
  bool ok = true;
  for (uint64_t off = 0; off < kTotal && ok; off += back.size()) {
    REQUIRE(dev->read(off, back.data(), back.size()) == 0);
    ok = std::memcmp(back.data(), data.data + off, back.size()) == 0;
  }
  CHECK(ok);
}
