#include "io/fault_injector.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "io/bio.h"
#include "io/bio_device.h"
#include "io/fault_rules.h"
#include "io/mem_device.h"
#include "io/sync_bio_device.h"
#include "mem/aligned_buffer.h"
#include "test/lib/temp.h"

using namespace chainfs;
using io::FaultDecision;
using io::FaultOp;

namespace {

constexpr uint64_t kB = 4096;

// Replaces the control file the way the tests are told to: a new file renamed over it.
void set_rules(const std::string& path, const std::string& text) {
  {
    std::ofstream(path + ".tmp") << text;
  }
  REQUIRE(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
}

// A MemDevice with a bio face, as UringDevice has both.
class MemBioDevice final : public io::Device, public io::BioDevice {
 public:
  explicit MemBioDevice(uint64_t size) : mem_(size), bio_(mem_) {}
  uint64_t size_bytes() const override { return mem_.size_bytes(); }
  const io::QueueLimits& limits() const override { return mem_.limits(); }
  int readv(uint64_t o, const struct iovec* v, int n) override { return mem_.readv(o, v, n); }
  int writev(uint64_t o, const struct iovec* v, int n) override { return mem_.writev(o, v, n); }
  int flush() override { return mem_.flush(); }
  io::BioDevice* bio_face() override { return this; }
  using BioDevice::submit;
  void submit(io::Bio* const* b, size_t n) override { bio_.submit(b, n); }
  void wait_until(const std::function<bool()>& done) override { bio_.wait_until(done); }
  uint32_t in_flight() const override { return bio_.in_flight(); }
  io::IoStats& stats() override { return bio_.stats(); }
  io::MemDevice& mem() { return mem_; }

 private:
  io::MemDevice mem_;
  io::SyncBioDevice bio_;
};

}  // namespace

TEST_CASE("FaultRules: parsing and refusals") {
  io::FaultRules r;
  std::string why;
  CHECK(r.parse("# nothing\n\n", &why) == 0);
  CHECK(r.empty());
  CHECK(r.parse("eio write blocks=10-20 prob=0.5 count=3\ndelay any ms=5\nshort write\nseed 7\n", &why) == 0);
  CHECK_FALSE(r.empty());
  for (const char* bad : {"boom read", "eio", "eio sideways", "short read", "delay write", "eio read blocks=9-3",
                          "eio read prob=2", "eio read count=x", "seed", "eio read what=1"}) {
    CAPTURE(bad);
    CHECK(r.parse(bad, &why) == -EINVAL);
    CHECK(why.find("line 1") != std::string::npos);
  }
}

TEST_CASE("FaultRules: blocks, operations, count and probability decide") {
  io::FaultRules r;
  std::string why;
  REQUIRE(r.parse("eio write blocks=10-11 count=2\neio flush\n", &why) == 0);
  CHECK(r.decide(FaultOp::kWrite, 9 * kB, kB).action == FaultDecision::kPass);
  CHECK(r.decide(FaultOp::kRead, 10 * kB, kB).action == FaultDecision::kPass);
  CHECK(r.decide(FaultOp::kWrite, 8 * kB, 3 * kB).action == FaultDecision::kEio);  // touches block 10
  CHECK(r.decide(FaultOp::kWrite, 11 * kB, kB).action == FaultDecision::kEio);
  CHECK(r.decide(FaultOp::kWrite, 11 * kB, kB).action == FaultDecision::kPass);  // count=2 used up
  CHECK(r.decide(FaultOp::kFlush, 0, 0).action == FaultDecision::kEio);
  CHECK(r.injected() == 3);

  REQUIRE(r.parse("seed 3\neio read prob=0.25\n", &why) == 0);
  int hits = 0;
  for (int i = 0; i < 4000; ++i) hits += r.decide(FaultOp::kRead, 0, kB).action == FaultDecision::kEio;
  CHECK(hits > 800);
  CHECK(hits < 1200);

  REQUIRE(r.parse("delay read ms=3\ndelay any ms=4\nshort write blocks=5-\n", &why) == 0);
  CHECK(r.decide(FaultOp::kRead, 0, kB).delay_ms == 7);
  CHECK(r.decide(FaultOp::kWrite, 4 * kB, kB).action == FaultDecision::kPass);
  CHECK(r.decide(FaultOp::kWrite, 4 * kB, 2 * kB).action == FaultDecision::kShort);
}

TEST_CASE("make_fault_injector follows its control file; a torn write writes its first half") {
  test::TempDir dir;
  const std::string ctl = dir.path() + "/faults";
  std::string why;
  auto* mem = new io::MemDevice(1 << 20);
  auto dev = io::make_fault_injector(std::unique_ptr<io::Device>(mem), ctl, &why);  // no file: no faults
  REQUIRE(dev);
  mem::AlignedBuffer buf(4 * kB);
  std::memset(buf.data(), 'x', 4 * kB);
  CHECK(dev->write(0, buf.data(), 4 * kB) == 0);
  set_rules(ctl, "eio read blocks=1\n");
  CHECK(dev->read(0, buf.data(), kB) == 0);
  CHECK(dev->read(0, buf.data(), 2 * kB) == -EIO);
  set_rules(ctl, "");  // empty: no faults
  CHECK(dev->read(0, buf.data(), 2 * kB) == 0);
  set_rules(ctl, "short write\neio flush\n");
  std::memset(buf.data(), 'y', 4 * kB);
  CHECK(dev->write(0, buf.data(), 4 * kB) == -EIO);
  CHECK(mem->bytes()[kB] == 'y');       // the first half landed
  CHECK(mem->bytes()[2 * kB] == 'x');   // the second did not
  CHECK(dev->flush() == -EIO);
  set_rules(ctl, "not a rule\n");  // refused: the previous rules stay
  CHECK(dev->flush() == -EIO);
  REQUIRE(::unlink(ctl.c_str()) == 0);  // no file: no faults
  CHECK(dev->flush() == 0);
  CHECK(dev->write(0, buf.data(), 4 * kB) == 0);

  set_rules(ctl, "eio nothing\n");
  CHECK_FALSE(io::make_fault_injector(std::make_unique<io::MemDevice>(1 << 20), ctl, &why));
  CHECK(why.find("line 1") != std::string::npos);
  CHECK(::unlink(ctl.c_str()) == 0);
}

TEST_CASE("make_fault_injector: the bio face fails, tears and passes bios") {
  test::TempDir dir;
  const std::string ctl = dir.path() + "/faults";
  auto* inner = new MemBioDevice(1 << 20);
  std::string why;
  auto dev = io::make_fault_injector(std::unique_ptr<io::Device>(inner), ctl, &why);
  REQUIRE(dev);
  auto* bdev = dynamic_cast<io::BioDevice*>(dev.get());
  REQUIRE(bdev);
  mem::AlignedBuffer buf(4 * kB);
  std::memset(buf.data(), 'z', 4 * kB);
  auto run = [&](io::BioOp op, uint64_t off, int pages) {
    io::Bio b;
    b.reset(op, off);
    for (int i = 0; i < pages; ++i) b.add_segment(buf.data() + i * kB, kB);
    int status = 1;
    b.push_end_io([&](io::Bio&, int s) { status = s; });
    bdev->submit(b);
    bdev->wait_until([&] { return status != 1; });
    return status;
  };
  set_rules(ctl, "eio read\nshort write blocks=8-\neio flush\n");
  CHECK(run(io::BioOp::kRead, 0, 1) == -EIO);
  CHECK(run(io::BioOp::kWrite, 0, 4) == 0);
  CHECK(run(io::BioOp::kWrite, 8 * kB, 4) == -EIO);
  CHECK(inner->mem().bytes()[9 * kB] == 'z');
  CHECK(inner->mem().bytes()[10 * kB] == 0);
  CHECK(run(io::BioOp::kFlush, 0, 0) == -EIO);
  set_rules(ctl, "");
  CHECK(run(io::BioOp::kRead, 0, 1) == 0);
  CHECK(run(io::BioOp::kFlush, 0, 0) == 0);
  CHECK(::unlink(ctl.c_str()) == 0);  // TempDir removes its directory only when empty
}
