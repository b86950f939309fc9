#include "tools/bench/engine.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "io/bio_chain.h"
#include "io/bio_pool.h"
#include "io/named_device.h"
#include "mem/page_pool.h"
#include "tools/bench/system.h"

namespace chainfs::bench {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kWritePiece = 8192, kReadPiece = 128 * 1024;
constexpr size_t kSourceBytes = 8u << 20;

int fail(std::string* why, const std::string& what, int err) {
  *why = fmt::format("{}: {}", what, std::strerror(err));
  return -err;
}

struct Source {
  char* data;
  Source() {
    void* p = mmap(nullptr, kSourceBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data = static_cast<char*>(p);
    for (size_t i = 0; i < kSourceBytes; i += 64) std::memset(data + i, int((i / 64 * 37 + 1) & 0xff), 64);
  }
  ~Source() { munmap(data, kSourceBytes); }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  const char* at(uint64_t off) const { return data + off % kSourceBytes; }
};

class Clock {
 public:
  explicit Clock(double runtime) : runtime_(runtime), t0_(std::chrono::steady_clock::now()) {}
  bool over(uint64_t i) {
    if (i % 64) return false;
    check_stop();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count() > runtime_;
  }

 private:
  double runtime_;
  std::chrono::steady_clock::time_point t0_;
};

// The end of a page's last part frees it: a piece cut by a device limit shows up in two
// requests, and only one of them may give the page back.
void free_pages(mem::PagePool& pool, io::Bio& b) {
  for (io::BioPage& pg : b.pages())
    if (pg.cookie && pg.view.offset + pg.view.length == kPage) pool.free_page(pg.cookie);
}

// A device with no block device to read counters from (an NBD export): the requests it sent,
// from its own statistics, as the device's.
void device_counts_from_engine(io::Device& dev, Sample* s) {
  auto* bd = dynamic_cast<io::BioDevice*>(&dev);
  if (s->have_dev || !bd) return;
  io::IoStatsSnapshot st = bd->stats().snapshot();
  s->dev.read_ios = st.read_submissions;
  s->dev.write_ios = st.write_submissions;
  s->dev.read_sectors = st.read_bytes / 512;
  s->dev.write_sectors = st.write_bytes / 512;
  s->have_dev = true;
}

int open_dev(const std::string& device, bool async, const io::UringOptions& uo, std::unique_ptr<io::Device>* out,
             std::string* why) {
  io::NamedDeviceOptions no;
  no.async = async;
  no.uring = uo;
  no.nbd.completion = uo.completion;
  std::string detail;
  int r = io::open_named_device(device, {}, no, out, &detail);
  if (r < 0) *why = io::open_error_text(device, r, detail);
  return r;
}

int run_sync(bool write, const std::string& device, uint64_t size, double runtime, mem::PagePool& pool, Meter& m,
             Sample* s, std::string* why) {
  std::unique_ptr<io::Device> dev;
  if (int r = open_dev(device, false, {}, &dev, why); r < 0) return r;
  Source src;
  uint64_t piece = write ? kWritePiece : kReadPiece;
  std::vector<void*> pages(piece / kPage);
  std::vector<struct iovec> iov(pages.size());
  Clock clock(runtime);
  uint64_t off = 0, i = 0;
  m.start();
  for (; off < size; off += piece) {
    if (write) {
      for (size_t k = 0; k < pages.size(); ++k) {
        pages[k] = pool.alloc_page();
        std::memcpy(pages[k], src.at(off + k * kPage), kPage);
      }
    } else {
      pool.alloc_gang(pages);
    }
    for (size_t k = 0; k < pages.size(); ++k) iov[k] = {pages[k], kPage};
    int r = write ? dev->writev(off, iov.data(), int(iov.size())) : dev->readv(off, iov.data(), int(iov.size()));
    if (write) {
      for (void* p : pages) pool.free_page(p);
    } else {
      pool.free_gang(pages);
    }
    if (r < 0) return fail(why, write ? "pwritev" : "preadv", -r);
    if (clock.over(++i)) {
      off += piece;
      break;
    }
  }
  if (write)
    if (int r = dev->flush(); r < 0) return fail(why, "flush", -r);
  s->bytes = off;
  s->ops = i;
  m.stop(s);
  device_counts_from_engine(*dev, s);
  return 0;
}

int run_uring(bool write, bool merge, const EngineConfig& c, const std::string& device, uint64_t size,
              double runtime, mem::PagePool& pool, Meter& m, Sample* s, std::string* why) {
  io::UringOptions uo;
  if (!io::parse_completion_mode(c.completion, &uo.completion))
    return fail(why, "completion=" + c.completion, EINVAL);
  uo.fixed_buffers = false;  // pool pages are not registered
  std::unique_ptr<io::Device> dev;
  if (int r = open_dev(device, true, uo, &dev, why); r < 0) return r;
  auto* bdev = dynamic_cast<io::BioDevice*>(dev.get());
  if (!bdev) return fail(why, device + " has no asynchronous face", EINVAL);
  Source src;
  io::BioPool bios(*bdev, 64);
  io::ChainOptions opts;
  opts.op = write ? io::BioOp::kWrite : io::BioOp::kRead;
  opts.merge = merge;
  uint64_t piece = write ? kWritePiece : kReadPiece;
  std::vector<void*> pages(piece / kPage);
  Clock clock(runtime);
  uint64_t off = 0, i = 0;
  int err = 0;
  m.start();
  {
    io::BioChain chain(bios, opts, [&pool](io::Bio& b, int) { free_pages(pool, b); });
    for (; off < size; off += piece) {
      if (write) {
        for (size_t k = 0; k < pages.size(); ++k) {
          pages[k] = pool.alloc_page();
          std::memcpy(pages[k], src.at(off + k * kPage), kPage);
        }
      } else {
        pool.alloc_gang(pages);
      }
      for (size_t k = 0; k < pages.size(); ++k)
        chain.append(io::PageView{static_cast<char*>(pages[k]), 0, uint32_t(kPage)}, off + k * kPage, pages[k]);
      if (clock.over(++i)) {
        off += piece;
        break;
      }
    }
    err = chain.wait();
  }
  if (err < 0) return fail(why, write ? "write" : "read", -err);
  if (write)
    if (int r = dev->flush(); r < 0) return fail(why, "flush", -r);
  s->bytes = off;
  s->ops = bdev->stats().snapshot().rw();
  m.stop(s);
  device_counts_from_engine(*dev, s);
  return 0;
}

}  // namespace

std::vector<EngineConfig> engine_matrix(const std::vector<std::string>& strategies,
                                        const std::vector<std::string>& completions,
                                        const std::vector<std::string>& allocs) {
  std::vector<EngineConfig> out;
  for (const std::string& s : strategies)
    for (const std::string& a : allocs) {
      if (s == "sync") {
        out.push_back({s, "-", a});
        continue;
      }
      for (const std::string& c : completions) out.push_back({s, c, a});
    }
  return out;
}

int run_engine_workload(const EngineConfig& c, const std::string& w, const std::string& device, const WorkParams& p,
                        Meter& m, Sample* s, std::string* why) {
  auto kind = mem::parse_page_alloc(c.page_alloc);
  if (!kind) return fail(why, "page_alloc=" + c.page_alloc, EINVAL);
  mem::PoolOptions po;
  po.kind = *kind;
  std::unique_ptr<mem::PagePool> pool = mem::make_page_pool(po);
  bool write = w == "engine-write-8k";
  if (!write && w != "engine-read-128k") return fail(why, "unknown engine workload " + w, EINVAL);
  uint64_t size = p.size / kReadPiece * kReadPiece;
  if (c.strategy == "sync") return run_sync(write, device, size, p.runtime, *pool, m, s, why);
  if (c.strategy == "page" || c.strategy == "chain")
    return run_uring(write, c.strategy == "chain", c, device, size, p.runtime, *pool, m, s, why);
  return fail(why, "write_strategy=" + c.strategy, EINVAL);
}

}  // namespace chainfs::bench
