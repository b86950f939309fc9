#include "io/bio.h"

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "io/faulty_device.h"
#include "io/mem_device.h"
#include "io/sync_bio_device.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;
using io::Bio;
using io::BioOp;
using io::SplitReason;

TEST_CASE("compound completion: the parent finishes once, after its last child, with the first error") {
  Bio parent, c1, c2, c3;
  parent.reset(BioOp::kWrite, 0);
  for (Bio* c : {&c1, &c2, &c3}) {
    c->reset(BioOp::kWrite, 0);
    parent.add_child(*c);
  }
  std::vector<int> calls;
  parent.push_end_io([&](Bio&, int st) { calls.push_back(st); });
  parent.push_end_io([&](Bio&, int st) { calls.push_back(1000 + st); });  // runs second

  parent.end(0);  // the owner's own reference
  c1.end(0);
  CHECK(calls.empty());
  c2.end(-EIO);
  CHECK(calls.empty());
  c3.end(-ENOSPC);  // a later error does not replace the first
  REQUIRE(calls.size() == 2);
  CHECK(calls[0] == -EIO);
  CHECK(calls[1] == 1000 - EIO);
  CHECK(parent.first_error() == -EIO);
  CHECK(c1.first_error() == 0);
  CHECK(c2.first_error() == -EIO);
}

TEST_CASE("a child's own callbacks run before the parent's, and the release hook last") {
  Bio parent, child;
  parent.reset(BioOp::kRead, 0);
  child.reset(BioOp::kRead, 0);
  parent.add_child(child);
  std::vector<std::string> order;
  child.push_end_io([&](Bio&, int) { order.push_back("child"); });
  parent.push_end_io([&](Bio&, int) { order.push_back("parent"); });
  static std::vector<std::string>* sink;
  sink = &order;
  child.set_release([](void*, Bio*) { sink->push_back("release"); }, nullptr);
  parent.end(0);
  child.end(0);
  CHECK(order == std::vector<std::string>{"child", "parent", "release"});
}

TEST_CASE("split at max_sectors makes views over the parent's vector, refining it in place") {
  io::QueueLimits l;
  l.logical_block_size = 512;
  l.max_sectors_kb = 8;
  l.max_segments = 16;
  l.max_segment_size = 65536;
  mem::AlignedBuffer buf(20480);
  Bio b;
  b.reset(BioOp::kWrite, 4096);
  b.add_segment(buf.data(), 20480);
  REQUIRE(b.split(l, 0) == 3);
  CHECK(b.split_count(SplitReason::kMaxSectors) == 2);
  auto& segs = b.own_segments();
  REQUIRE(segs.size() == 3);  // one segment became three: cut where the children meet
  auto& ch = b.children();
  uint64_t want_off[] = {4096, 4096 + 8192, 4096 + 16384};
  uint64_t want_len[] = {8192, 8192, 4096};
  for (int i = 0; i < 3; ++i) {
    CHECK(ch[i]->is_view());
    CHECK(ch[i]->offset() == want_off[i]);
    CHECK(ch[i]->bytes() == want_len[i]);
    CHECK(ch[i]->iovcnt() == 1);
    // A view points into the parent's own vector: same storage, not a copy.
    CHECK(ch[i]->iov() == segs.data() + i);
    CHECK(ch[i]->iov()->iov_base == buf.data() + want_off[i] - 4096);
  }
}

TEST_CASE("split at max_segments and at a boundary") {
  io::QueueLimits l;
  l.logical_block_size = 512;
  l.max_sectors_kb = 1024;
  l.max_segments = 2;
  l.max_segment_size = 65536;
  mem::AlignedBuffer buf(10 * 4096);
  SUBCASE("segments") {
    Bio b;
    b.reset(BioOp::kWrite, 0);
    for (int i = 0; i < 5; ++i) b.add_segment(buf.data() + 2 * i * 4096, 4096);  // not contiguous
    REQUIRE(b.split(l, 0) == 3);
    CHECK(b.split_count(SplitReason::kMaxSegments) == 2);
    CHECK(b.children()[0]->iovcnt() == 2);
    CHECK(b.children()[1]->iovcnt() == 2);
    CHECK(b.children()[2]->iovcnt() == 1);
    CHECK(b.children()[1]->offset() == 8192);
    CHECK(b.own_segments().size() == 5);  // cuts fell between segments: nothing refined
  }
  SUBCASE("segment larger than max_segment_size counts as several") {
    l.max_segment_size = 4096;
    Bio b;
    b.reset(BioOp::kWrite, 0);
    b.add_segment(buf.data(), 5 * 4096);
    REQUIRE(b.split(l, 0) == 3);
    CHECK(b.children()[0]->bytes() == 8192);
    CHECK(b.children()[2]->bytes() == 4096);
  }
  SUBCASE("boundary") {
    l.max_segments = 128;
    Bio b;
    b.reset(BioOp::kWrite, 12288);
    b.add_segment(buf.data(), 8 * 4096);  // 12 KiB .. 44 KiB, boundary every 16 KiB
    REQUIRE(b.split(l, 16384) == 3);
    CHECK(b.split_count(SplitReason::kBoundary) == 2);
    CHECK(b.children()[0]->offset() == 12288);
    CHECK(b.children()[0]->bytes() == 4096);
    CHECK(b.children()[1]->offset() == 16384);
    CHECK(b.children()[1]->bytes() == 16384);
    CHECK(b.children()[2]->offset() == 32768);
    CHECK(b.children()[2]->bytes() == 12288);
  }
  SUBCASE("a bio within the limits is not split") {
    Bio b;
    b.reset(BioOp::kWrite, 0);
    b.add_segment(buf.data(), 4096);
    b.add_segment(buf.data() + 8192, 4096);
    CHECK(b.split(l, 0) == 0);
    CHECK(b.children().empty());
  }
}

TEST_CASE("a split write reaches the device whole, an error in one child reaches the parent once") {
  io::QueueLimits l;
  l.logical_block_size = 512;
  l.max_sectors_kb = 16;
  io::MemDevice mem(1 << 20, l);
  io::FaultyDevice faulty(mem, false);
  io::SyncBioDevice dev(faulty);
  mem::AlignedBuffer buf(64 << 10);
  for (size_t i = 0; i < buf.size(); ++i) buf.data()[i] = static_cast<char>(i * 7 + 3);

  Bio b;
  b.reset(BioOp::kWrite, 65536);
  b.add_segment(buf.data(), buf.size());
  int calls = 0, status = 1;
  b.push_end_io([&](Bio&, int st) {
    ++calls;
    status = st;
  });
  dev.submit(b);
  CHECK(calls == 1);
  CHECK(status == 0);
  CHECK(faulty.counters().writes == 4);  // 64 KiB in 16 KiB requests
  CHECK(std::memcmp(mem.bytes().data() + 65536, buf.data(), buf.size()) == 0);
  CHECK(dev.stats().snapshot().splits_max_sectors == 3);

  faulty.fail_range(65536 + 20000, 1, io::FaultyDevice::kWrite);  // inside the second child
  Bio b2;
  b2.reset(BioOp::kWrite, 65536);
  b2.add_segment(buf.data(), buf.size());
  calls = 0;
  b2.push_end_io([&](Bio&, int st) {
    ++calls;
    status = st;
  });
  dev.submit(b2);
  CHECK(calls == 1);
  CHECK(status == -EIO);
  CHECK(b2.children()[0]->first_error() == 0);
  CHECK(b2.children()[1]->first_error() == -EIO);
  CHECK(b2.children()[2]->first_error() == 0);
}
