#include "io/nbd_device.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "io/named_device.h"
#include "io_test_util.h"
#include "mem/aligned_buffer.h"
#include "test/lib/nbdkit.h"

using namespace chainfs;
using io::Bio;
using io::BioOp;
using io::CompletionMode;
using test::Nbdkit;

namespace {

std::unique_ptr<io::NbdDevice> open_nbd(const std::string& uri, io::NbdOptions no = {}) {
  std::unique_ptr<io::NbdDevice> dev;
  std::string why;
  int r = io::NbdDevice::open(uri, {}, no, &dev, &why);
  INFO(why);
  REQUIRE(r == 0);
  return dev;
}

// Submits `n` write bios of `len` bytes each (patterned, two segments each) at once and
// waits for all of them; returns the first error.
int write_many(io::NbdDevice& dev, uint64_t base, int n, size_t len, uint32_t seed) {
  std::vector<mem::AlignedBuffer> bufs;
  std::vector<std::unique_ptr<Bio>> bios;
  std::atomic<int> done{0}, err{0};
  for (int i = 0; i < n; ++i) {
    uint64_t off = base + static_cast<uint64_t>(i) * len;
    bufs.emplace_back(len);
    test::fill_pattern(bufs.back().data(), off, len, seed);
    auto b = std::make_unique<Bio>();
    b->reset(BioOp::kWrite, off);
    b->add_segment(bufs.back().data(), len / 2);
    b->add_segment(bufs.back().data() + len / 2, len / 2);
    b->push_end_io([&](Bio&, int s) {
      if (s < 0) err.store(s);
      done.fetch_add(1, std::memory_order_release);
    });
    bios.push_back(std::move(b));
  }
  std::vector<Bio*> ptrs;
  for (auto& b : bios) ptrs.push_back(b.get());
  dev.submit(ptrs.data(), ptrs.size());
  dev.wait_until([&] { return done.load(std::memory_order_acquire) == n; });
  return err.load();
}

}  // namespace

TEST_CASE("NbdDevice: URIs are told from paths") {
  CHECK(io::is_nbd_uri("nbd://localhost:10809/export"));
  CHECK(io::is_nbd_uri("nbd+unix:///?socket=/tmp/s"));
  CHECK(io::is_nbd_uri("nbds://host/x"));
  CHECK_FALSE(io::is_nbd_uri("/dev/sdb"));
  CHECK_FALSE(io::is_nbd_uri("nbd.img"));
  CHECK_FALSE(io::is_nbd_uri("./nbd://x"));
}

TEST_CASE("NbdDevice: synchronous round trip, size and limits, in every completion mode") {
  REQUIRE(Nbdkit::available());
  Nbdkit server({"memory", "16M"});
  for (CompletionMode m : {CompletionMode::kInline, CompletionMode::kThread, CompletionMode::kWaiter}) {
    CAPTURE(io::to_string(m));
    io::NbdOptions no;
    no.completion = m;
    auto dev = open_nbd(server.uri(), no);
    CHECK(dev->size_bytes() == (16u << 20));
    CHECK(dev->limits().logical_block_size == 512);
    CHECK(dev->multi_conn());  // the memory plugin offers multi-conn
    CHECK(dev->connection_count() == 2);
    mem::AlignedBuffer a(8192), b(4096), r(12288);
    test::fill_pattern(a.data(), 4096, 8192, 3);
    test::fill_pattern(b.data(), 4096 + 8192, 4096, 3);
    struct iovec v[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    REQUIRE(dev->writev(4096, v, 2) == 0);
    REQUIRE(dev->flush() == 0);
    struct iovec rv[2] = {{r.data(), 4096}, {r.data() + 4096, 8192}};
    REQUIRE(dev->readv(4096, rv, 2) == 0);  // two segments: through the bounce buffer
    CHECK(test::check_pattern(r.data(), 4096, 12288, 3));
    CHECK(dev->read((16 << 20) - 4096, r.data(), 8192) == -EIO);
    auto s = dev->stats().snapshot();
    CHECK(s.write_submissions == 1);
    CHECK(s.flush_submissions == 1);
    CHECK(s.read_submissions == 1);
    CHECK(s.errors == 0);
    CHECK(dev->in_flight() == 0);
  }
}

TEST_CASE("NbdDevice: many bios in flight at once, split at the server's maximum block size") {
  REQUIRE(Nbdkit::available());
  // The server says: at least 4096, at most 64 KiB per request, 16 KiB preferred.
  Nbdkit server({"memory", "32M", "blocksize-minimum=4096", "blocksize-preferred=16384", "blocksize-maximum=65536"},
                {"blocksize-policy"});
  io::NbdOptions no;
  no.connections = 3;
  auto dev = open_nbd(server.uri(), no);
  CHECK(dev->limits().logical_block_size == 4096);
  CHECK(dev->limits().max_request_bytes() == 65536);
  CHECK(dev->limits().optimal_io_size == 16384);
  CHECK(dev->connection_count() == 3);
  REQUIRE(write_many(*dev, 0, 64, 128 << 10, 9) == 0);  // 64 x 128 KiB, each cut in two
  auto s = dev->stats().snapshot();
  CHECK(s.write_submissions == 128);
  CHECK(s.splits > 0);
  CHECK(s.in_flight_hwm > 1);
  REQUIRE(dev->flush() == 0);
  mem::AlignedBuffer r(8u << 20);
  REQUIRE(dev->read(0, r.data(), r.size()) == 0);
  CHECK(test::check_pattern(r.data(), 0, r.size(), 9));
}

TEST_CASE("NbdDevice: a server error reaches the request that met it, and only that one") {
  REQUIRE(Nbdkit::available());
  test::TempDir dir;
  std::string trigger = dir.path() + "/fail";
  // Writes fail with EIO while the trigger file exists; reads never fail.
  Nbdkit server({"memory", "8M", "error-pwrite=EIO", "error-pwrite-rate=100%", "error-file=" + trigger}, {"error"});
  auto dev = open_nbd(server.uri());
  mem::AlignedBuffer a(4096);
  test::fill_pattern(a.data(), 0, 4096, 1);
  REQUIRE(dev->write(0, a.data(), 4096) == 0);
  { std::ofstream(trigger.c_str()) << "x"; }
  CHECK(dev->write(8192, a.data(), 4096) == -EIO);
  CHECK(dev->read(0, a.data(), 4096) == 0);
  CHECK(test::check_pattern(a.data(), 0, 4096, 1));
  unlink(trigger.c_str());
  CHECK(dev->write(8192, a.data(), 4096) == 0);  // the connection survived the error
  CHECK(dev->connections_lost() == 0);
  CHECK(dev->flush() == 0);
}

TEST_CASE("NbdDevice: a request without a reply times out with EIO, and the device reconnects") {
  REQUIRE(Nbdkit::available());
  // Every write takes 4 s; reads answer at once. The timeout is 1 s.
  Nbdkit server({"memory", "8M", "delay-write=4"}, {"delay"});
  io::NbdOptions no;
  no.request_timeout_s = 1;
  no.connections = 1;  // the read below must wait for this one connection to come back
  auto dev = open_nbd(server.uri(), no);
  mem::AlignedBuffer a(4096);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(dev->write(0, a.data(), 4096) == -EIO);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(3));
  CHECK(dev->connections_lost() >= 1);
  // The next request waits for a new connection and succeeds.
  CHECK(dev->read(0, a.data(), 4096) == 0);
  CHECK(dev->reconnects() >= 1);
}

TEST_CASE("NbdDevice: a server killed and restarted: EIO while it is gone, the unflushed flush fails once") {
  REQUIRE(Nbdkit::available());
  test::TempImage img(8 << 20);
  Nbdkit server({"file", img.path()});
  io::NbdOptions no;
  no.request_timeout_s = 2;
  auto dev = open_nbd(server.uri(), no);
  CHECK(dev->connection_count() >= 1);
  mem::AlignedBuffer a(65536), r(65536);
  test::fill_pattern(a.data(), 0, 65536, 5);
  REQUIRE(dev->write(0, a.data(), 65536) == 0);
  REQUIRE(dev->flush() == 0);  // durable: must survive everything below
  test::fill_pattern(a.data(), 65536, 65536, 5);
  REQUIRE(dev->write(65536, a.data(), 65536) == 0);  // completed, not flushed

  server.kill();
  // Gone: a request waits for the timeout, then fails.
  CHECK(dev->read(0, r.data(), 4096) == -EIO);
  // The read may fail (libnbd ends its commands) before the driver thread has seen the
  // connection die and counted it.
  for (int i = 0; i < 100 && dev->connections_lost() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(dev->connections_lost() >= 1);

  server.start();
  // Down for longer than the timeout, the device fails requests at once until the driver
  // (once a second) has a connection again.
  for (int i = 0; i < 100 && dev->reconnects() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(dev->reconnects() >= 1);
  // Back: the write completed before the loss may be gone, so this flush must not say durable.
  CHECK(dev->flush() == -EIO);
  CHECK(dev->flush() == 0);  // reported once
  REQUIRE(dev->read(0, r.data(), 65536) == 0);
  CHECK(test::check_pattern(r.data(), 0, 65536, 5));
  CHECK(dev->reconnects() >= 1);
}

TEST_CASE("NbdDevice: no server: open fails with an errno and a message") {
  REQUIRE(Nbdkit::available());
  test::TempDir dir;
  std::unique_ptr<io::NbdDevice> dev;
  std::string why;
  int r = io::NbdDevice::open("nbd+unix:///?socket=" + dir.path() + "/none", {}, {}, &dev, &why);
  CHECK(r < 0);
  CHECK(!why.empty());
  CHECK(!dev);
}

TEST_CASE("open_named_device: a URI opens an NbdDevice, a path a local device") {
  REQUIRE(Nbdkit::available());
  Nbdkit server({"memory", "4M"});
  std::unique_ptr<io::Device> d;
  REQUIRE(io::open_named_device(server.uri(), {}, {}, &d) == 0);
  CHECK(dynamic_cast<io::NbdDevice*>(d.get()) != nullptr);
  CHECK(dynamic_cast<io::BioDevice*>(d.get()) != nullptr);
  CHECK(d->size_bytes() == (4u << 20));
  test::TempImage img(1 << 20);
  io::NamedDeviceOptions sync_opts, async_opts;
  async_opts.async = true;
  REQUIRE(io::open_named_device(img.path(), {}, sync_opts, &d) == 0);
  CHECK(dynamic_cast<io::BioDevice*>(d.get()) == nullptr);
  d.reset();  // the exclusive claim on the image
  REQUIRE(io::open_named_device(img.path(), {}, async_opts, &d) == 0);
  CHECK(dynamic_cast<io::UringDevice*>(d.get()) != nullptr);
}

TEST_CASE("NbdDevice: a server that admits one client: one connection, and a second client is refused") {
  REQUIRE(Nbdkit::available());
  Nbdkit server({"memory", "4M", "limit=1"}, {"limit"});
  auto dev = open_nbd(server.uri());
  CHECK(dev->multi_conn());
  CHECK(dev->connection_count() == 1);
  mem::AlignedBuffer a(4096);
  CHECK(dev->write(0, a.data(), 4096) == 0);
  std::unique_ptr<io::NbdDevice> second;
  io::NbdOptions no;
  no.request_timeout_s = 2;
  io::OpenOptions shared;
  shared.exclusive = false;  // past this machine's lock: the server itself refuses
  CHECK(io::NbdDevice::open(server.uri(), shared, no, &second) < 0);
  CHECK(dev->flush() == 0);
}

TEST_CASE("NbdDevice: an exclusive open keeps a second chainfs of this machine off the export") {
  REQUIRE(Nbdkit::available());
  Nbdkit server({"memory", "4M"});
  auto dev = open_nbd(server.uri());
  std::unique_ptr<io::NbdDevice> second;
  std::string why;
  io::OpenOptions wait;
  wait.busy_wait_ms = 200;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(io::NbdDevice::open(server.uri(), wait, {}, &second, &why) == -EBUSY);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(200));  // it waited
  io::OpenOptions ro;
  ro.read_only = true;
  CHECK(io::NbdDevice::open(server.uri(), ro, {}, &second) == -EBUSY);  // not even read-only
  io::OpenOptions shared;
  shared.exclusive = false;
  CHECK(io::NbdDevice::open(server.uri(), shared, {}, &second) == 0);  // without the claim: NBD allows it
  second.reset();
  dev.reset();  // closing releases the claim
  CHECK(io::NbdDevice::open(server.uri(), {}, {}, &second) == 0);
}

TEST_CASE("NbdDevice: a server that stays away: after one timeout, requests fail at once") {
  REQUIRE(Nbdkit::available());
  Nbdkit server({"memory", "4M"});
  io::NbdOptions no;
  no.request_timeout_s = 1;
  auto dev = open_nbd(server.uri(), no);
  mem::AlignedBuffer a(4096);
  server.kill();
  for (int i = 0; i < 100 && dev->connections_lost() < dev->connection_count(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto t0 = std::chrono::steady_clock::now();
  CHECK(dev->read(0, a.data(), 4096) == -EIO);  // waits for a reconnect, up to the timeout
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1900));
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) CHECK(dev->write(4096 * static_cast<uint64_t>(i), a.data(), 4096) == -EIO);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(900));  // not 20 timeouts
}
