// File data through the page cache on a MemDevice: every write strategy reads
// back what it wrote, before and after a remount; and "ordered mode": the data a sync or
// fsync makes reachable is on the device, and flushed, before the journal commits the
// metadata that maps it.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "fs/cache/engine_config.h"
#include "fs/meta/filesystem.h"
#include "fs/meta/mkfs.h"
#include "io/mem_device.h"

using namespace chainfs;

namespace {

constexpr char kData = 0x5a;  // file bytes; no metadata block is made of them only

// Forwards to a MemDevice and logs every write (is it file data?) and flush, in order.
class RecordingDevice final : public io::Device {
 public:
  struct Event {
    bool flush = false;
    bool data = false;  // every byte written is kData
    uint64_t bytes = 0;
  };
  RecordingDevice(io::Device& d, std::vector<Event>* log, std::mutex* mu) : d_(d), log_(log), mu_(mu) {}
  uint64_t size_bytes() const override { return d_.size_bytes(); }
  const io::QueueLimits& limits() const override { return d_.limits(); }
  int readv(uint64_t off, const struct iovec* iov, int n) override { return d_.readv(off, iov, n); }
  int writev(uint64_t off, const struct iovec* iov, int n) override {
    Event e;
    e.data = true;
    for (int i = 0; i < n; ++i) {
      const char* p = static_cast<const char*>(iov[i].iov_base);
      for (size_t k = 0; k < iov[i].iov_len && e.data; ++k) e.data = p[k] == kData;
      e.bytes += iov[i].iov_len;
    }
    {
      std::lock_guard g(*mu_);
      log_->push_back(e);
    }
    return d_.writev(off, iov, n);
  }
  int flush() override {
    {
      std::lock_guard g(*mu_);
      log_->push_back(Event{true, false, 0});
    }
    return d_.flush();
  }

 private:
  io::Device& d_;
  std::vector<Event>* log_;
  std::mutex* mu_;
};

struct Rig {
  io::MemDevice mem{64ull << 20};
  std::vector<RecordingDevice::Event> log;
  std::mutex mu;
  std::unique_ptr<fs::Filesystem> fs;

  Rig() {
    std::string msg;
    REQUIRE_MESSAGE(fs::make_filesystem(mem, {}, &msg) == 0, msg);
  }
  ~Rig() {
    if (fs) fs->unmount();
  }
  void mount(const fs::MountOptions& o) {
    std::string msg;
    auto r = fs::mount_filesystem(std::make_unique<RecordingDevice>(mem, &log, &mu), o, &msg);
    REQUIRE_MESSAGE(r.ok(), msg);
    fs = std::move(*r);
  }
  void unmount() {
    REQUIRE(fs->unmount() == 0);
    fs.reset();
  }
  std::vector<RecordingDevice::Event> take_log() {
    std::lock_guard g(mu);
    return std::exchange(log, {});
  }
};

fs::MountOptions options(cache::WriteStrategy w, cache::ReadStrategy r = cache::ReadStrategy::kGang) {
  fs::MountOptions o;
  auto e = std::make_shared<cache::EngineConfig>();
  e->cache.write = w;
  e->cache.read = r;
  o.engine = e;
  o.flush_interval_s = 3600;  // no timer write-back inside a test
  return o;
}

// In the log of one sync/fsync: data writes, then the metadata (journal) writes, a flush,
// and the journal's commit block (the last write), flushed: the data is durable before the
// commit makes the metadata that maps it count.
void check_ordered(const std::vector<RecordingDevice::Event>& log, uint64_t data_bytes) {
  size_t first_meta = log.size(), last_data = 0, data_seen = 0, commit = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].flush) continue;
    if (log[i].data) {
      last_data = i;
      bytes += log[i].bytes;
      ++data_seen;
    } else {
      if (first_meta == log.size()) first_meta = i;
      commit = i;
    }
  }
  REQUIRE(data_seen > 0);
  CHECK(bytes == data_bytes);
  REQUIRE(first_meta < log.size());
  CHECK(last_data < first_meta);
  bool flush_between = false;
  for (size_t i = last_data + 1; i < commit; ++i) flush_between |= log[i].flush;
  CHECK(flush_between);
  CHECK(log.back().flush);  // and the commit is flushed at the end
}

}  // namespace

TEST_CASE("every write and read strategy reads back its data through the page cache, also after a remount") {
  for (auto w : {cache::WriteStrategy::kSync, cache::WriteStrategy::kPage, cache::WriteStrategy::kChain})
    for (auto rs : {cache::ReadStrategy::kPage, cache::ReadStrategy::kGang}) {
      CAPTURE(cache::to_string(w));
      CAPTURE(cache::to_string(rs));
      Rig rig;
      rig.mount(options(w, rs));
      auto a = rig.fs->mknod({}, fs::kRootIno, "f", S_IFREG | 0644, 0);
      REQUIRE(a.ok());
      std::string data(3 * 1024 * 1024 + 123, '\0');
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
      // Unaligned pieces: partial pages at both ends of most writes.
      for (size_t off = 0; off < data.size(); off += 100'003) {
        size_t n = std::min<size_t>(100'003, data.size() - off);
        auto r = rig.fs->write(a->ino, off, data.data() + off, n);
        REQUIRE(r.ok());
        REQUIRE(*r == n);
      }
      std::string back(data.size(), '\0');
      auto r = rig.fs->read(a->ino, 0, back.size(), back.data());
      REQUIRE(r.ok());
      CHECK(back == data);
      // Truncate inside a cached page, then extend: the tail reads zeros.
      REQUIRE(rig.fs->setattr(a->ino, fs::SetAttr{.fields = fs::SetAttr::kSize, .size = 5000}).ok());
      REQUIRE(rig.fs->setattr(a->ino, fs::SetAttr{.fields = fs::SetAttr::kSize, .size = 9000}).ok());
      std::string want = data.substr(0, 5000) + std::string(4000, '\0');
      rig.unmount();
      rig.mount(options(w, rs));
      back.assign(9000, '\1');
      r = rig.fs->read(a->ino, 0, back.size(), back.data());
      REQUIRE(r.ok());
      CHECK(*r == 9000);
      CHECK(back == want);
    }
}

TEST_CASE("ordered mode: fsync and sync write the data, then commit the metadata that maps it after a flush") {
  for (auto w : {cache::WriteStrategy::kSync, cache::WriteStrategy::kPage, cache::WriteStrategy::kChain})
    for (bool use_fsync : {true, false}) {
      CAPTURE(cache::to_string(w));
      CAPTURE(use_fsync);
      Rig rig;
      rig.mount(options(w));
      auto a = rig.fs->mknod({}, fs::kRootIno, "f", S_IFREG | 0644, 0);
      REQUIRE(a.ok());
      std::string data(1 << 20, kData);
      rig.take_log();
      // New blocks (the extent map and the inode change), in whole pages: write-through
      // would otherwise send pages with zeros around the data.
      for (size_t off = 0; off < data.size(); off += 262144) {
        size_t n = std::min<size_t>(262144, data.size() - off);
        REQUIRE(rig.fs->write(a->ino, 4096 + off, data.data() + off, n).ok());
      }
      REQUIRE((use_fsync ? rig.fs->fsync(a->ino, false) : rig.fs->sync()) == 0);
      check_ordered(rig.take_log(), data.size());
    }
}

TEST_CASE("write_strategy=sync: write-through writes and write-backs in parallel never wait for ever") {
  // A write-back waiting on a page under write-through must see it finish: the request's
  // completion ends the page's writeback and wakes the waiter.
  Rig rig;
  rig.mount(options(cache::WriteStrategy::kSync));
  auto a = rig.fs->mknod({}, fs::kRootIno, "f", S_IFREG | 0644, 0);
  REQUIRE(a.ok());
  std::atomic<bool> stop{false};
  std::thread syncer([&] {
    while (!stop) rig.fs->sync();
  });
  std::string data(64 * 1024, kData);
  bool ok = true;
  for (int i = 0; i < 400 && ok; ++i) {
    auto r = rig.fs->write(a->ino, static_cast<uint64_t>(i % 64) * data.size(), data.data(), data.size());
    ok = r.ok() && *r == data.size();
  }
  stop = true;
  syncer.join();
  CHECK(ok);
  CHECK(rig.fs->fsync(a->ino, false) == 0);
}
