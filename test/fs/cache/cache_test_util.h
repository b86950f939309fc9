#pragma once
// Helpers for the page cache tests: a device whose requests are held until the test
// releases them (to look at the cache while I/O is in flight), a file model that plays
// the metadata layer (logical -> physical mapping, fresh blocks); images are test/lib's.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "fs/cache/page_cache.h"
#include "io/bio_device.h"
#include "io/device.h"
#include "test/lib/temp.h"

namespace chainfs::test {

// GateDevice: a BioDevice over a synchronous Device that holds every submitted request until
// release() lets it run (or runs it at once while open()).
class GateDevice final : public io::BioDevice {
 public:
  explicit GateDevice(io::Device& dev) : dev_(dev) {}
  ~GateDevice() override { open(); }

  const io::QueueLimits& limits() const override { return dev_.limits(); }
  using io::BioDevice::submit;
  void submit(io::Bio* const* bios, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      std::unique_lock lk(mu_);
      stats_.on_submit(bios[i]->op(), bios[i]->bytes(), static_cast<uint32_t>(bios[i]->iovcnt()), ++in_flight_);
      if (open_) {
        lk.unlock();
        run(bios[i]);
      } else {
        held_.push_back(bios[i]);
      }
    }
  }
  void wait_until(const std::function<bool()>& done) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return done(); });
  }
  uint32_t in_flight() const override { return in_flight_.load(); }
  io::IoStats& stats() override { return stats_; }

  size_t held() {
    std::lock_guard lk(mu_);
    return held_.size();
  }
  // Runs the held requests for which pick(bio) is true; returns how many.
  size_t release(const std::function<bool(io::Bio&)>& pick) {
    std::vector<io::Bio*> go;
    {
      std::lock_guard lk(mu_);
      for (auto it = held_.begin(); it != held_.end();) {
        if (pick(**it)) {
          go.push_back(*it);
          it = held_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (io::Bio* b : go) run(b);
    return go.size();
  }
  // Runs everything held and lets later requests through at once.
  void open() {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    release([](io::Bio&) { return true; });
  }

 private:
  void run(io::Bio* b) {
    int r = 0;
    if (b->op() == io::BioOp::kWrite) r = dev_.writev(b->offset(), b->iov(), b->iovcnt());
    else if (b->op() == io::BioOp::kRead) r = dev_.readv(b->offset(), b->iov(), b->iovcnt());
    else r = dev_.flush();
    stats_.on_complete(0, r);
    b->end(r);
    std::lock_guard lk(mu_);
    --in_flight_;
    cv_.notify_all();
  }

  io::Device& dev_;
  io::IoStats stats_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<io::Bio*> held_;
  std::atomic<uint32_t> in_flight_{0};
  bool open_ = false;
};

// FileModel: the metadata layer's part for one file: its logical->physical mapping (two
// extents, so writes are split into runs as FileIo does), which blocks were ever written
// (fresh blocks read as zeros), and the expected content.
struct FileModel {
  uint64_t ino;
  uint64_t nblocks;
  uint64_t phys_a, phys_b, split;  // blocks [0, split) at phys_a, [split, nblocks) at phys_b
  std::vector<char> data;
  std::vector<bool> written;

  FileModel(uint64_t i, uint64_t n, uint64_t pa, uint64_t pb, uint64_t s)
      : ino(i), nblocks(n), phys_a(pa), phys_b(pb), split(s), data(n * 4096, 0), written(n, false) {}

  uint64_t phys(uint64_t lblk) const { return lblk < split ? phys_a + lblk : phys_b + (lblk - split); }

  // Calls run(lblk, phys, n, fresh) for each run of [first, end) that is physically contiguous
  // and uniformly fresh or not.
  template <class F>
  void runs(uint64_t first, uint64_t end, F&& run) const {
    uint64_t b = first;
    while (b < end) {
      uint64_t e = b + 1;
      while (e < end && e != split && written[e] == written[b]) ++e;
      run(b, phys(b), e - b, !written[b]);
      b = e;
    }
  }

  int write(cache::PageCache& c, uint64_t off, const char* buf, size_t len) {
    int err = 0;
    runs(off / 4096, (off + len + 4095) / 4096, [&](uint64_t l, uint64_t p, uint64_t n, bool fresh) {
      if (err == 0) err = c.write(ino, l, p, n, off, buf, len, fresh);
    });
    if (err == 0) {
      std::memcpy(data.data() + off, buf, len);
      for (uint64_t b = off / 4096; b < (off + len + 4095) / 4096; ++b) written[b] = true;
    }
    return err;
  }
  // Reads [off, off+len): mapped runs through the cache (the whole extent as the run, as the
  // metadata layer is told to pass it), never-written blocks as zeros.
  int read(cache::PageCache& c, uint64_t off, char* buf, size_t len) const {
    std::memset(buf, 0, len);
    int err = 0;
    uint64_t first = off / 4096, end = (off + len + 4095) / 4096;
    uint64_t b = first;
    while (b < end && err == 0) {
      if (!written[b]) {
        ++b;
        continue;
      }
      // The mapped, written run containing b, out to the extent's end (for readahead).
      uint64_t s = b, e = b + 1;
      uint64_t ext_end = b < split ? split : nblocks;
      while (e < ext_end && written[e]) ++e;
      err = c.read(ino, s, phys(s), e - s, off, buf, len);
      b = std::min(e, end);
    }
    return err;
  }
  bool check(cache::PageCache& c, uint64_t off, size_t len) const {
    std::vector<char> got(len);
    if (read(c, off, got.data(), len) != 0) return false;
    return std::memcmp(got.data(), data.data() + off, len) == 0;
  }
  // The device holds the model's content for every written block.
  bool on_device(const char* dev_bytes) const {
    for (uint64_t b = 0; b < nblocks; ++b)
      if (written[b] && std::memcmp(dev_bytes + phys(b) * 4096, data.data() + b * 4096, 4096) != 0) return false;
    return true;
  }
};

inline void fill_random(std::mt19937_64& rng, char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(rng() | 1);  // never zero: zeros are for holes
}

}  // namespace chainfs::test
