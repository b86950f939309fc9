// io_bench: the engine benchmark. Writes N MiB sequentially in small appends (8 KiB by
// default) through each write strategy on one device, in one run, and prints throughput,
// the average write request that reached the device (from /sys/block/X/stat) and chainfs's
// own count, and the chain/sync ratio. Strategies:
//   sync        one pwrite per append on the O_DIRECT descriptor (a plain userspace FS)
//   page        one io_uring request per 4 KiB page
//   page-fixed  the same with registered buffers (READ/WRITE_FIXED)
//   chain       the bio_chain builder
// Every run ends with a device flush, included in the time.
//   io_bench                          # a temporary loop device (root), 256 MiB
//   io_bench --device /dev/sdX --mib 1024 --completion waiter --json out.json
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/bio_chain.h"
#include "io/block_stat.h"
#include "io/sync_device.h"
#include "io/uring_device.h"
#include "test/lib/loop_device.h"
#include "test/lib/temp.h"

using namespace chainfs;

namespace {

struct Config {
  std::string device;
  uint64_t mib = 256;
  uint32_t append_kib = 8;
  std::vector<std::string> strategies{"sync", "page", "page-fixed", "chain"};
  std::string completion = "thread";
  unsigned qd = 128;
  uint32_t pool = 64;
  bool register_file = true;
  std::string json;
};

struct Result {
  std::string name;
  double seconds = 0;
  double mbps = 0;
  io::BlockStat dev{};
  bool have_dev = false;
  io::IoStatsSnapshot engine{};
  bool have_engine = false;
};

// The source data: one region reused cyclically (writes only read it), on huge pages.
struct Source {
  char* data = nullptr;
  size_t size = 0;
  explicit Source(size_t bytes) : size(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data = static_cast<char*>(p);
    madvise(data, bytes, MADV_HUGEPAGE);
    for (size_t i = 0; i < bytes; i += 512) std::memset(data + i, static_cast<int>(i / 512 * 37), 512);
  }
  ~Source() { munmap(data, size); }
  char* at(uint64_t off) const { return data + off % size; }
};

double secs_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_sync(const Config& c, const Source& src, Result* out) {
  std::unique_ptr<io::SyncDevice> dev;
  if (int r = io::SyncDevice::open(c.device, {}, &dev); r < 0) return r;
  uint64_t total = c.mib << 20, step = uint64_t{c.append_kib} << 10;
  out->have_dev = io::read_block_stat_fd(dev->fd(), &out->dev) == 0;
  io::BlockStat before = out->dev;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t off = 0; off < total; off += step)
    if (int r = dev->write(off, src.at(off), step); r < 0) return r;
  if (int r = dev->flush(); r < 0) return r;
  out->seconds = secs_since(t0);
  if (out->have_dev) {
    io::BlockStat after{};
    io::read_block_stat_fd(dev->fd(), &after);
    out->dev = after - before;
  }
  return 0;
}

int run_uring(const Config& c, const Source& src, bool chain, bool fixed, Result* out) {
  io::UringOptions uo;
  uo.queue_depth = c.qd;
  uo.register_file = c.register_file;
  uo.fixed_buffers = fixed;
  if (!io::parse_completion_mode(c.completion, &uo.completion)) return -EINVAL;
  std::unique_ptr<io::UringDevice> dev;
  if (int r = io::UringDevice::open(c.device, {}, uo, &dev); r < 0) return r;
  if (fixed) {
    struct iovec region{src.data, src.size};
    if (int r = dev->register_buffers(&region, 1); r < 0) return r;
  }
  uint64_t total = c.mib << 20, step = uint64_t{c.append_kib} << 10;
  out->have_dev = io::read_block_stat_fd(dev->fd(), &out->dev) == 0;
  io::BlockStat before = out->dev;
  io::BioPool pool(*dev, c.pool);
  auto t0 = std::chrono::steady_clock::now();
  {
    // page: the same builder with merging off, one request per 4 KiB page.
    io::ChainOptions opts;
    opts.merge = chain;
    io::BioChain ch(pool, opts);
    for (uint64_t off = 0; off < total; off += step) ch.append(io::PageView{src.at(off), 0, static_cast<uint32_t>(step)}, off);
    if (int r = ch.wait(); r < 0) return r;
  }
  if (int r = dev->flush(); r < 0) return r;
  out->seconds = secs_since(t0);
  if (out->have_dev) {
    io::BlockStat after{};
    io::read_block_stat_fd(dev->fd(), &after);
    out->dev = after - before;
  }
  out->engine = dev->stats().snapshot();
  out->have_engine = true;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"io_bench: sequential small writes through sync, page and chain strategies"};
  app.add_option("--device", c.device, "block device or image file (default: a temporary loop device, root)");
  app.add_option("--mib", c.mib, "MiB to write per strategy")->check(CLI::PositiveNumber);
  app.add_option("--append-kib", c.append_kib, "size of each append in KiB (multiple of 4)")->check(CLI::PositiveNumber);
  app.add_option("--strategies", c.strategies, "sync, page, page-fixed, chain")->delimiter(',');
  app.add_option("--completion", c.completion, "inline, thread or waiter");
  app.add_option("--qd", c.qd, "io_uring queue depth (most requests in flight)");
  app.add_option("--pool", c.pool, "requests in the builder's pool");
  app.add_option("--register-file", c.register_file, "register the device fd with the ring (1/0)");
  app.add_option("--json", c.json, "also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (c.append_kib % 4) {
    fmt::print(stderr, "io_bench: --append-kib must be a multiple of 4\n");
    return 1;
  }

  // A temporary image on a direct-I/O loop device unless --device was given; both go away
  // when main returns.
  std::unique_ptr<test::TempImage> image;
  std::unique_ptr<test::LoopDevice> loop;
  if (c.device.empty()) {
    try {
      image = std::make_unique<test::TempImage>((c.mib << 20) + (16 << 20));
      loop = std::make_unique<test::LoopDevice>(image->path(), /*direct_io=*/true);
    } catch (const std::exception& e) {
      fmt::print(stderr, "io_bench: cannot set up a loop device ({}); give --device\n", e.what());
      return 1;
    }
    c.device = loop->path();
  }
  Source src(std::min<uint64_t>(c.mib << 20, 64 << 20));

  std::vector<Result> results;
  for (const std::string& s : c.strategies) {
    Result r;
    r.name = s;
    int rc = -EINVAL;
    if (s == "sync") rc = run_sync(c, src, &r);
    else if (s == "page") rc = run_uring(c, src, false, false, &r);
    else if (s == "page-fixed") rc = run_uring(c, src, false, true, &r);
    else if (s == "chain") rc = run_uring(c, src, true, false, &r);
    if (rc < 0) {
      fmt::print(stderr, "io_bench: {} failed: {}\n", s, std::strerror(-rc));
      return 1;
    }
    r.mbps = double(c.mib << 20) / 1e6 / r.seconds;
    results.push_back(r);
  }

  fmt::print("device {}  {} MiB in {} KiB appends  completion={} qd={} pool={} register_file={}\n", c.device,
             c.mib, c.append_kib, c.completion, c.qd, c.pool, c.register_file);
  fmt::print("{:<11} {:>9} {:>9} {:>12} {:>14} {:>12} {:>10} {:>10}\n", "strategy", "seconds", "MB/s",
             "dev writes", "dev avg KiB", "engine avg", "segs/req", "p99 us");
  double sync_mbps = 0, chain_mbps = 0;
  nlohmann::json j = nlohmann::json::array();
  for (const Result& r : results) {
    std::string dev_ios = r.have_dev ? fmt::format("{}", r.dev.write_ios) : "-";
    std::string dev_avg = r.have_dev ? fmt::format("{:.1f}", r.dev.avg_write_bytes() / 1024) : "-";
    std::string eng_avg = r.have_engine ? fmt::format("{:.1f}", r.engine.avg_write_bytes() / 1024) : "-";
    std::string segs = r.have_engine ? fmt::format("{:.1f}", r.engine.avg_segments()) : "-";
    std::string p99 = r.have_engine ? fmt::format("{:.0f}", double(r.engine.lat_p99_ns) / 1000) : "-";
    fmt::print("{:<11} {:>9.3f} {:>9.1f} {:>12} {:>14} {:>12} {:>10} {:>10}\n", r.name, r.seconds, r.mbps, dev_ios,
               dev_avg, eng_avg, segs, p99);
    if (r.name == "sync") sync_mbps = r.mbps;
    if (r.name == "chain") chain_mbps = r.mbps;
    nlohmann::json e{{"strategy", r.name}, {"seconds", r.seconds}, {"mbps", r.mbps}};
    if (r.have_dev)
      e["device"] = {{"write_ios", r.dev.write_ios}, {"write_sectors", r.dev.write_sectors},
                     {"avg_write_bytes", r.dev.avg_write_bytes()}};
    if (r.have_engine) e["engine"] = r.engine.to_json();
    j.push_back(e);
  }
  if (sync_mbps > 0 && chain_mbps > 0) fmt::print("chain/sync throughput ratio: {:.2f}x\n", chain_mbps / sync_mbps);
  if (!c.json.empty()) {
    std::ofstream f(c.json);
    f << j.dump(2) << "\n";
  }
  return 0;
}
