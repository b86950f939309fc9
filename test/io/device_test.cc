#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "io/mem_device.h"
#include "io/sync_device.h"
#include "mem/aligned_buffer.h"
#include "test/lib/temp.h"

using namespace chainfs;

TEST_CASE("SyncDevice reads back what it wrote, vectored, and refuses past the end") {
  test::TempImage img(1 << 20);
  std::unique_ptr<io::SyncDevice> dev;
  REQUIRE(io::SyncDevice::open(img.path(), {}, &dev) == 0);
  CHECK(dev->size_bytes() == (1u << 20));
  mem::AlignedBuffer a(8192), b(4096), r(12288);
  std::memset(a.data(), 'a', a.size());
  std::memset(b.data(), 'b', b.size());
  struct iovec v[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  REQUIRE(dev->writev(4096, v, 2) == 0);
  REQUIRE(dev->flush() == 0);
  REQUIRE(dev->read(4096, r.data(), r.size()) == 0);
  CHECK(std::memcmp(r.data(), a.data(), 8192) == 0);
  CHECK(std::memcmp(r.data() + 8192, b.data(), 4096) == 0);
  CHECK(dev->read((1 << 20) - 4096, r.data(), 8192) == -EIO);
}

TEST_CASE("SyncDevice open is exclusive") {
  test::TempImage img(1 << 20);
  std::unique_ptr<io::SyncDevice> d1, d2;
  REQUIRE(io::SyncDevice::open(img.path(), {}, &d1) == 0);
  CHECK(io::SyncDevice::open(img.path(), {}, &d2) == -EBUSY);
  io::OpenOptions wait;
  wait.busy_wait_ms = 100;
  CHECK(io::SyncDevice::open(img.path(), wait, &d2) == -EBUSY);
  d1.reset();
  CHECK(io::SyncDevice::open(img.path(), {}, &d2) == 0);
}

TEST_CASE("SyncDevice errors are values") {
  std::unique_ptr<io::SyncDevice> dev;
  CHECK(io::SyncDevice::open("/nonexistent/chainfs.img", {}, &dev) == -ENOENT);
  CHECK(io::SyncDevice::open("/dev/null", {}, &dev) == -ENOTBLK);
}

TEST_CASE("MemDevice round trip and bounds") {
  io::MemDevice dev(1 << 16);
  mem::AlignedBuffer buf(4096);
  std::memset(buf.data(), 7, 4096);
  REQUIRE(dev.write(8192, buf.data(), 4096) == 0);
  mem::AlignedBuffer out(4096);
  REQUIRE(dev.read(8192, out.data(), 4096) == 0);
  CHECK(std::memcmp(out.data(), buf.data(), 4096) == 0);
  CHECK(dev.write(1 << 16, buf.data(), 4096) == -EIO);
}
