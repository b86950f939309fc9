#include "io/bio_chain.h"

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "io/faulty_device.h"
#include "io/mem_device.h"
#include "io/sync_bio_device.h"
#include "io_test_util.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;
using io::Bio;
using io::BioChain;
using io::PageView;

namespace {

struct Req {
  uint64_t offset, bytes;
  int segs;
  size_t pages;
  int status;
};

io::QueueLimits limits(uint32_t max_kb, uint32_t max_segs, uint32_t max_seg_size = 65536) {
  io::QueueLimits l;
  l.logical_block_size = 512;
  l.max_sectors_kb = max_kb;
  l.max_segments = max_segs;
  l.max_segment_size = max_seg_size;
  return l;
}

// A memory device with the given limits, under the builder, recording each request.
struct Rig {
  io::MemDevice mem;
  io::FaultyDevice faulty;
  io::SyncBioDevice dev;
  io::BioPool pool;
  std::vector<Req> reqs;
  std::vector<void*> cookies;
  explicit Rig(io::QueueLimits l, uint32_t pool_size = 4)
      : mem(16 << 20, l), faulty(mem, false), dev(faulty), pool(dev, pool_size) {}
  BioChain::EndIo recorder() {
    return [this](Bio& b, int st) {
      reqs.push_back({b.offset(), b.bytes(), b.iovcnt(), b.pages().size(), st});
      for (auto& p : b.pages()) cookies.push_back(p.cookie);
    };
  }
  io::IoStatsSnapshot stats() { return dev.stats().snapshot(); }
};

}  // namespace

TEST_CASE("contiguous pages merge into one request, physically contiguous ones into one segment") {
  Rig rig(limits(1024, 128));
  test::Mapping buf(32 * 4096);
  test::fill_pattern(buf.data, 1 << 20, 32 * 4096, 1);
  {
    BioChain chain(rig.pool, {}, rig.recorder());
    for (int i = 0; i < 32; ++i) chain.append(PageView{buf.data + i * 4096, 0, 4096}, (1 << 20) + i * 4096);
    CHECK(chain.current() != nullptr);  // not full: still being built
    CHECK(chain.wait() == 0);
  }
  REQUIRE(rig.reqs.size() == 1);
  CHECK(rig.reqs[0].offset == 1 << 20);
  CHECK(rig.reqs[0].bytes == 32 * 4096);
  CHECK(rig.reqs[0].segs == 2);  // 128 KiB of contiguous memory = two 64 KiB segments
  CHECK(rig.reqs[0].pages == 32);
  CHECK(rig.stats().merges == 31);
  CHECK(rig.stats().splits == 0);
  CHECK(test::check_pattern(rig.mem.bytes().data() + (1 << 20), 1 << 20, 32 * 4096, 1));
}

TEST_CASE("the builder splits at max_sectors and submits a full request at once") {
  Rig rig(limits(16, 128));
  test::Mapping buf(16 * 4096);
  BioChain chain(rig.pool, {}, rig.recorder());
  for (int i = 0; i < 4; ++i) chain.append(PageView{buf.data + i * 4096, 0, 4096}, i * 4096);
  CHECK(chain.current() == nullptr);  // 16 KiB is the largest request: already submitted
  CHECK(rig.reqs.size() == 1);
  for (int i = 4; i < 16; ++i) chain.append(PageView{buf.data + i * 4096, 0, 4096}, i * 4096);
  CHECK(chain.wait() == 0);
  REQUIRE(rig.reqs.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(rig.reqs[i].offset == uint64_t(i) * 16384);
    CHECK(rig.reqs[i].bytes == 16384);
  }
  CHECK(rig.stats().splits_max_sectors == 4);
}

TEST_CASE("the builder splits at max_segments when pages are scattered in memory") {
  Rig rig(limits(1024, 4));
  test::Mapping buf(32 * 4096);
  test::fill_pattern(buf.data, 0, 32 * 4096, 2);
  BioChain chain(rig.pool, {}, rig.recorder());
  // Every other page of the buffer: device-contiguous, memory-discontiguous.
  for (int i = 0; i < 10; ++i) chain.append(PageView{buf.data + 2 * i * 4096, 0, 4096}, (4 << 20) + i * 4096);
  CHECK(chain.wait() == 0);
  REQUIRE(rig.reqs.size() == 3);
  CHECK(rig.reqs[0].segs == 4);
  CHECK(rig.reqs[0].bytes == 4 * 4096);
  CHECK(rig.reqs[1].offset == (4 << 20) + 4 * 4096);
  CHECK(rig.reqs[2].bytes == 2 * 4096);
  CHECK(rig.stats().splits_max_segments == 2);
  for (int i = 0; i < 10; ++i)
    CHECK(std::memcmp(rig.mem.bytes().data() + (4 << 20) + i * 4096, buf.data + 2 * i * 4096, 4096) == 0);
}

TEST_CASE("the builder never lets a request cross a boundary") {
  Rig rig(limits(1024, 128));
  test::Mapping buf(16 * 4096);
  io::ChainOptions opts;
  opts.boundary = 32768;
  BioChain chain(rig.pool, opts, rig.recorder());
  for (int i = 0; i < 16; ++i) chain.append(PageView{buf.data + i * 4096, 0, 4096}, 16384 + i * 4096);
  CHECK(chain.wait() == 0);
  // 16..32 KiB, 32..64, 64..80 KiB
  REQUIRE(rig.reqs.size() == 3);
  CHECK(rig.reqs[0].bytes == 16384);
  CHECK(rig.reqs[1].offset == 32768);
  CHECK(rig.reqs[1].bytes == 32768);
  CHECK(rig.reqs[2].offset == 65536);
  CHECK(rig.reqs[2].bytes == 16384);
  CHECK(rig.stats().splits_boundary == 2);
}

TEST_CASE("a page that does not follow starts a new request without counting a split") {
  Rig rig(limits(1024, 128));
  test::Mapping buf(4 * 4096);
  BioChain chain(rig.pool, {}, rig.recorder());
  int cookie[4];
  chain.append(PageView{buf.data, 0, 4096}, 0, &cookie[0]);
  chain.append(PageView{buf.data + 4096, 0, 4096}, 4096, &cookie[1]);
  chain.append(PageView{buf.data + 8192, 0, 4096}, 65536, &cookie[2]);  // a hole before it
  chain.append(PageView{buf.data + 12288, 0, 4096}, 65536 + 4096, &cookie[3]);
  CHECK(chain.wait() == 0);
  REQUIRE(rig.reqs.size() == 2);
  CHECK(rig.reqs[1].offset == 65536);
  CHECK(rig.stats().splits == 0);
  CHECK(rig.stats().merges == 2);
  CHECK(rig.cookies == std::vector<void*>{&cookie[0], &cookie[1], &cookie[2], &cookie[3]});
}

TEST_CASE("a piece larger than the room left is cut between two requests, data intact") {
  Rig rig(limits(12, 128));
  test::Mapping buf(8 * 8192);
  test::fill_pattern(buf.data, 0, 8 * 8192, 3);
  BioChain chain(rig.pool, {}, rig.recorder());
  for (int i = 0; i < 8; ++i) chain.append(PageView{buf.data + i * 8192, 0, 8192}, i * 8192);
  CHECK(chain.wait() == 0);
  REQUIRE(rig.reqs.size() == 6);  // 64 KiB in 12 KiB requests
  for (auto& r : rig.reqs) CHECK(r.bytes <= 12288);
  CHECK(test::check_pattern(rig.mem.bytes().data(), 0, 8 * 8192, 3));
}

TEST_CASE("the idle knob submits early when the device has nothing in flight") {
  Rig rig(limits(1024, 128));
  test::Mapping buf(8 * 4096);
  io::ChainOptions opts;
  opts.idle_start_bytes = 8192;  // SyncBioDevice is always idle between requests
  BioChain chain(rig.pool, opts, rig.recorder());
  for (int i = 0; i < 8; ++i) chain.append(PageView{buf.data + i * 4096, 0, 4096}, i * 4096);
  CHECK(chain.wait() == 0);
  CHECK(rig.reqs.size() == 4);  // every second page reaches 8 KiB on an idle device
}

TEST_CASE("device errors reach the chain's callback and wait()") {
  Rig rig(limits(16, 128));
  test::Mapping buf(16 * 4096);
  rig.faulty.fail_range(20000, 512, io::FaultyDevice::kWrite);  // inside the second request
  BioChain chain(rig.pool, {}, rig.recorder());
  for (int i = 0; i < 16; ++i) chain.append(PageView{buf.data + i * 4096, 0, 4096}, i * 4096);
  CHECK(chain.wait() == -EIO);
  REQUIRE(rig.reqs.size() == 4);
  CHECK(rig.reqs[0].status == 0);
  CHECK(rig.reqs[1].status == -EIO);
  CHECK(rig.reqs[2].status == 0);
  CHECK(chain.wait() == 0);  // the error was reported once
}

TEST_CASE("merge=false gives one request per page (write_strategy=page)") {
  Rig rig(limits(1024, 128));
  test::Mapping buf(8 * 4096);
  test::fill_pattern(buf.data, 0, 8 * 4096, 4);
  io::ChainOptions opts;
  opts.merge = false;
  BioChain chain(rig.pool, opts, rig.recorder());
  for (int i = 0; i < 4; ++i) chain.append(PageView{buf.data + i * 8192, 0, 8192}, i * 8192);  // 8 KiB appends
  CHECK(chain.wait() == 0);
  REQUIRE(rig.reqs.size() == 8);
  for (int i = 0; i < 8; ++i) {
    CHECK(rig.reqs[i].offset == uint64_t(i) * 4096);
    CHECK(rig.reqs[i].bytes == 4096);
  }
  CHECK(rig.stats().merges == 0);
  CHECK(rig.stats().splits == 0);
  CHECK(test::check_pattern(rig.mem.bytes().data(), 0, 8 * 4096, 4));
}
