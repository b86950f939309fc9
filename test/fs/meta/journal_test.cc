// The metadata journal: commit and recovery of transactions on a memory device (torn and
// corrupt tails ignored whole), and the filesystem after simulated power loss: every state
// left by dropping the writes since the last flush mounts, replays, and keeps what fsync
// made durable.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <random>
#include <string>

#include "fs/format/journal.h"
#include "fs/format/layout.h"
#include "fs/format/superblock.h"
#include "fs/cache/engine_config.h"
#include "fs/meta/filesystem.h"
#include "fs/meta/journal.h"
#include "fs/meta/mkfs.h"
#include "io/faulty_device.h"
#include "io/mem_device.h"

using namespace chainfs;

namespace {

constexpr uint64_t kStart = 100, kBlocks = 64;
const fs::Journal::Uuid kUuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

fs::BlockImage image(uint64_t home, char fill) {
  auto b = std::make_shared<mem::AlignedBuffer>(kBlockSize);
  std::memset(b->data(), fill, kBlockSize);
  return {home, b};
}

char first_byte(const fs::JournalRecovery& r, uint64_t home) {
  auto it = r.images.find(home);
  REQUIRE(it != r.images.end());
  return it->second->data()[0];
}

}  // namespace

TEST_CASE("journal: committed transactions are recovered in order, the newest image wins") {
  io::MemDevice dev(1 << 20);
  fs::Journal j(dev, kStart, kBlocks, kUuid);
  REQUIRE(j.create() == 0);
  CHECK(j.empty());
  CHECK(j.capacity() == kBlocks - 3);  // superblock, one descriptor, commit
  REQUIRE(j.commit({image(7, 'a'), image(9, 'b')}) == 0);
  REQUIRE(j.commit({image(9, 'c'), image(11, 'd')}) == 0);
  CHECK(j.used() == 4 + 4);

  fs::Journal again(dev, kStart, kBlocks, kUuid);
  fs::JournalRecovery rec;
  std::string why;
  REQUIRE(again.recover(&rec, &why) == 0);
  CHECK(rec.transactions == 2);
  CHECK(rec.first_seq == 1);
  CHECK(rec.last_seq == 2);
  CHECK(rec.blocks == 3);
  CHECK(first_byte(rec, 7) == 'a');
  CHECK(first_byte(rec, 9) == 'c');
  CHECK(first_byte(rec, 11) == 'd');
  // New transactions go behind the recovered ones until a reset.
  CHECK_FALSE(again.empty());
  REQUIRE(again.reset() == 0);
  fs::Journal third(dev, kStart, kBlocks, kUuid);
  REQUIRE(third.recover(&rec, &why) == 0);
  CHECK(rec.transactions == 0);
  // Sequence numbers go on after a reset, so the old transactions behind it end the log.
  REQUIRE(third.commit({image(5, 'e')}) == 0);
  fs::Journal fourth(dev, kStart, kBlocks, kUuid);
  REQUIRE(fourth.recover(&rec, &why) == 0);
  CHECK(rec.transactions == 1);
  CHECK(rec.first_seq == 3);
  CHECK(first_byte(rec, 5) == 'e');
  CHECK(rec.images.count(7) == 0);
}

TEST_CASE("journal: a torn or corrupt transaction is ignored whole, with everything after it") {
  for (int damage = 0; damage < 4; ++damage) {
    CAPTURE(damage);
    io::MemDevice dev(1 << 20);
    fs::Journal j(dev, kStart, kBlocks, kUuid);
    REQUIRE(j.create() == 0);
    REQUIRE(j.commit({image(7, 'a')}) == 0);                  // blocks 1..3
    REQUIRE(j.commit({image(7, 'b'), image(8, 'b')}) == 0);   // blocks 4..7
    REQUIRE(j.commit({image(9, 'c')}) == 0);                  // blocks 8..10
    char* region = dev.bytes().data() + kStart * kBlockSize;
    switch (damage) {
      case 0: std::memset(region + 7 * kBlockSize, 0, kBlockSize); break;  // commit never written
      case 1: region[5 * kBlockSize + 100] ^= 1; break;                     // an image torn
      case 2: region[4 * kBlockSize + 50] ^= 1; break;                      // the descriptor
      case 3: region[7 * kBlockSize + 30] ^= 1; break;                      // the commit block
    }
    fs::Journal again(dev, kStart, kBlocks, kUuid);
    fs::JournalRecovery rec;
    std::string why;
    REQUIRE(again.recover(&rec, &why) == 0);
    CHECK(rec.transactions == 1);
    CHECK(first_byte(rec, 7) == 'a');
    CHECK(rec.images.count(8) == 0);
    CHECK(rec.images.count(9) == 0);
  }
}

TEST_CASE("journal: a journal of another filesystem or a bad superblock is refused") {
  io::MemDevice dev(1 << 20);
  REQUIRE(fs::Journal(dev, kStart, kBlocks, kUuid).create() == 0);
  fs::Journal::Uuid other = kUuid;
  other[0] = 99;
  fs::JournalRecovery rec;
  std::string why;
  CHECK(fs::Journal(dev, kStart, kBlocks, other).recover(&rec, &why) == -EUCLEAN);
  dev.bytes()[kStart * kBlockSize + 20] ^= 1;
  CHECK(fs::Journal(dev, kStart, kBlocks, kUuid).recover(&rec, &why) == -EUCLEAN);
  CHECK(why.find("checksum") != std::string::npos);
}

TEST_CASE("journal: a transaction that does not fit waits for a reset") {
  io::MemDevice dev(1 << 20);
  fs::Journal j(dev, kStart, kBlocks, kUuid);
  REQUIRE(j.create() == 0);
  std::vector<fs::BlockImage> big;
  for (uint64_t b = 0; b < 40; ++b) big.push_back(image(200 + b, 'x'));
  REQUIRE(j.commit(big) == 0);
  CHECK_FALSE(j.fits(big.size()));
  CHECK(j.commit(big) == -ENOSPC);
  REQUIRE(j.reset() == 0);
  CHECK(j.fits(big.size()));
  REQUIRE(j.commit(big) == 0);
}

TEST_CASE("journal: a transaction's log is one compound buffer, written in large requests") {
  // 200 images and their descriptor: 804 KiB, one request within the default limits
  // (1280 KiB, 128 segments of up to 64 KiB) when the buffer is one run; as a scatter list
  // it takes two when its pages are apart in memory (201 segments), one when they happen
  // to be adjacent (the builder merges by address).
  for (bool fallback : {false, true}) {
    CAPTURE(fallback);
    io::MemDevice dev(4 << 20);
    fs::Journal j(dev, kStart, 512, kUuid, fallback);
    REQUIRE(j.create() == 0);
    std::vector<fs::BlockImage> txn;
    for (uint64_t b = 0; b < 200; ++b) txn.push_back(image(1000 + b, static_cast<char>('a' + b % 26)));
    uint64_t before = j.stats()->write_requests.load();
    REQUIRE(j.commit(txn) == 0);
    auto st = j.stats();
    CHECK(st->log_buffers.load() == 1);
    CHECK(st->contiguous_log_buffers.load() == (fallback ? 0 : 1));
    // The log, then the commit block.
    uint64_t requests = st->write_requests.load() - before;
    if (fallback)
      CHECK((requests == 2 || requests == 3));
    else
      CHECK(requests == 2);
    fs::Journal again(dev, kStart, 512, kUuid);
    fs::JournalRecovery rec;
    std::string why;
    REQUIRE(again.recover(&rec, &why) == 0);
    CHECK(rec.transactions == 1);
    REQUIRE(rec.blocks == 200);
    for (uint64_t b = 0; b < 200; ++b) CHECK(first_byte(rec, 1000 + b) == static_cast<char>('a' + b % 26));
  }
}

namespace {

// A device whose writes stop reaching anything once cut(): the moment of the power loss.
// Everything after it (the dying daemon's unmount) fails with EIO.
class CutDevice final : public io::Device {
 public:
  explicit CutDevice(io::Device& d) : d_(d) {}
  uint64_t size_bytes() const override { return d_.size_bytes(); }
  const io::QueueLimits& limits() const override { return d_.limits(); }
  int readv(uint64_t off, const struct iovec* iov, int n) override { return d_.readv(off, iov, n); }
  int writev(uint64_t off, const struct iovec* iov, int n) override { return cut_ ? -EIO : d_.writev(off, iov, n); }
  int flush() override { return cut_ ? -EIO : d_.flush(); }
  void cut() { cut_ = true; }

 private:
  io::Device& d_;
  std::atomic<bool> cut_{false};
};

fs::MountOptions quiet() {
  fs::MountOptions o;
  auto e = std::make_shared<cache::EngineConfig>();
  e->cache.write = cache::WriteStrategy::kSync;  // data through the same device
  o.engine = e;
  o.flush_interval_s = 3600;
  return o;
}

std::unique_ptr<fs::Filesystem> mount(std::unique_ptr<io::Device> d, bool read_only = false) {
  std::string msg;
  fs::MountOptions o = quiet();
  o.read_only = read_only;
  auto r = fs::mount_filesystem(std::move(d), o, &msg);
  REQUIRE_MESSAGE(r.ok(), msg);
  return std::move(*r);
}

std::string read_all(fs::Filesystem& f, fs::Ino ino) {
  auto a = f.getattr(ino);
  REQUIRE(a.ok());
  std::string s(a->size, '\0');
  auto r = f.read(ino, 0, s.size(), s.data());
  REQUIRE(r.ok());
  s.resize(*r);
  return s;
}

}  // namespace

TEST_CASE("power loss at any point keeps what fsync made durable, and renames are all or nothing") {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    CAPTURE(seed);
    io::MemDevice mem(64ull << 20);
    std::string msg;
    REQUIRE(fs::make_filesystem(mem, {}, &msg) == 0);
    io::FaultyDevice faulty(mem);
    auto cut_owner = std::make_unique<CutDevice>(faulty);
    CutDevice* cut = cut_owner.get();
    auto f = mount(std::move(cut_owner));
    std::mt19937 rng(seed);
    // Durable names and the content each holds (a rename over "target" at any time: the
    // name must then hold the old or the new content, never be missing).
    std::map<std::string, std::string> durable;
    const int steps = 20 + static_cast<int>(rng() % 60);
    for (int i = 0; i < steps; ++i) {
      std::string name = "f" + std::to_string(rng() % 12);
      std::string data(1 + rng() % 20000, static_cast<char>('a' + rng() % 26));
      durable.erase(name);  // changed again: only a new fsync promises anything
      auto c = f->mknod({}, fs::kRootIno, name, S_IFREG | 0644, 0);
      fs::Ino ino = 0;
      if (c.ok()) {
        ino = c->ino;
      } else {
        auto l = f->lookup(fs::kRootIno, name);
        REQUIRE(l.ok());
        ino = l->ino;
        REQUIRE(f->setattr(ino, fs::SetAttr{.fields = fs::SetAttr::kSize, .size = 0}).ok());
      }
      REQUIRE(f->write(ino, 0, data.data(), data.size()).ok());
      switch (rng() % 4) {
        case 0:  // fsync: the file and (ext4 semantics after a sync of everything) its name
          REQUIRE(f->fsync(ino, false) == 0);
          durable[name] = data;
          break;
        case 1: {  // the rename-over idiom: write tmp, fsync, rename over the durable name
          REQUIRE(f->fsync(ino, false) == 0);
          REQUIRE(f->rename(fs::kRootIno, name, fs::kRootIno, "target", 0) == 0);
          REQUIRE(f->sync() == 0);
          durable["target"] = data;
          durable.erase(name);
          break;
        }
        case 2:
          if (f->unlink(fs::kRootIno, name) == 0) durable.erase(name);
          break;
        default:
          break;  // not made durable: may or may not survive
      }
    }
    // Power loss: what was flushed stays, the rest is gone; the dying daemon writes nothing.
    cut->cut();
    faulty.crash();
    f.reset();

    // Read-only first: the journal is replayed in memory, nothing is written (any write
    // would fail on the cut device and fail the mount).
    {
      auto ro_dev = std::make_unique<CutDevice>(mem);
      ro_dev->cut();
      auto ro = mount(std::move(ro_dev), true);
      for (auto& [name, data] : durable) {
        CAPTURE(name);
        auto l = ro->lookup(fs::kRootIno, name);
        REQUIRE(l.ok());
        CHECK(read_all(*ro, l->ino) == data);
      }
      CHECK(ro->unmount() == 0);
    }
    auto g = mount(std::make_unique<CutDevice>(mem));
    CHECK(g->was_unclean());
    for (auto& [name, data] : durable) {
      CAPTURE(name);
      auto l = g->lookup(fs::kRootIno, name);
      REQUIRE(l.ok());
      CHECK(read_all(*g, l->ino) == data);
    }
    // Every entry is readable.
    std::vector<std::string> names;
    REQUIRE(g->readdir(fs::kRootIno, 0, [&](const fs::DirEntry& e) {
      names.emplace_back(e.name);
      return true;
    }) == 0);
    for (auto& n : names) {
      if (n == "." || n == "..") continue;
      auto l = g->lookup(fs::kRootIno, n);
      REQUIRE_MESSAGE(l.ok(), n);
      read_all(*g, l->ino);
    }
    REQUIRE(g->unmount() == 0);
  }
}
