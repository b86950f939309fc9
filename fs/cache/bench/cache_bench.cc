// chainfs-cache-bench DEVICE: the page cache alone over the io_uring engine, on a block device
// (a loop device) or an image file, for each write strategy in one run:
//   seq8k    a file of --size bytes written sequentially in 8 KiB writes, then fsync
//   seq1m    the same in 1 MiB writes
//   rand4k   4 KiB writes at random block offsets of that file, then fsync
//   read1m   cold 1 MiB sequential reads of it (new cache), read_strategy=gang (page for
//            write_strategy=page, as the mount would pair them)
// The file is mapped to consecutive device blocks from --offset (what the allocator does for
// a sequential writer). Prints throughput, the device requests and their average size from
// the engine's IoStats and, for a block device, from /sys/block/X/stat (they must agree).
// Speeds are printed, never asserted. The device's contents are overwritten.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "fs/cache/page_cache.h"
#include "fs/cache/stats_writer.h"
#include "io/block_stat.h"
#include "io/completion_thread.h"
#include "io/uring_device.h"
#include "mem/page_pool.h"
#include "mem/pool_options.h"

using namespace chainfs;

namespace {

struct Result {
  std::string strategy, workload;
  double seconds = 0, mib = 0;
  uint64_t dev_writes = 0, dev_write_bytes = 0, dev_reads = 0, dev_read_bytes = 0;
  bool have_blk = false;
  io::BlockStat blk;
};

struct Setup {
  std::string device;
  io::CompletionMode completion = io::CompletionMode::kThread;
  mem::PoolKind page_alloc = mem::PoolKind::kGang;
  uint64_t cache_size = 0;
  uint64_t size = 0;
  uint64_t offset_blocks = 0;
};

using Clock = std::chrono::steady_clock;

int run_one(const Setup& s, cache::WriteStrategy w, const std::string& workload, Result* out) {
  io::UringOptions uo;
  uo.completion = s.completion;
  std::unique_ptr<io::UringDevice> dev;
  if (int r = io::UringDevice::open(s.device, io::OpenOptions{}, uo, &dev); r < 0) return r;
  mem::PoolOptions po;
  po.kind = s.page_alloc;
  po.byte_cap = s.cache_size;
  auto pool = mem::make_page_pool(po);
  cache::CacheOptions co;
  co.write = w;
  co.read = w == cache::WriteStrategy::kPage ? cache::ReadStrategy::kPage : cache::ReadStrategy::kGang;
  uint64_t nblocks = s.size / kBlockSize;
  const uint64_t ino = 2, base = s.offset_blocks;
  io::BlockStat before{}, after{};
  bool blk = io::read_block_stat_fd(dev->fd(), &before) == 0;
  std::vector<char> buf(1 << 20);
  std::mt19937_64 rng(1);
  for (auto& c : buf) c = static_cast<char>(rng() | 1);
  int err = 0;
  Clock::time_point t0;
  {
    cache::PageCache cache(*dev, *pool, co);
    dev->stats().reset();
    t0 = Clock::now();
    if (workload == "seq8k" || workload == "seq1m") {
      size_t chunk = workload == "seq8k" ? 8192 : (1 << 20);
      for (uint64_t off = 0; off < s.size && err == 0; off += chunk) {
        uint64_t l = off / kBlockSize, n = chunk / kBlockSize;
        err = cache.write(ino, l, base + l, n, off, buf.data() + off % (buf.size() - chunk + 1), chunk, true);
      }
      if (err == 0) err = cache.fsync(ino);
    } else if (workload == "rand4k") {
      uint64_t count = std::min<uint64_t>(nblocks, 65536);
      for (uint64_t i = 0; i < count && err == 0; ++i) {
        uint64_t l = rng() % nblocks;
        err = cache.write(ino, l, base + l, 1, l * kBlockSize, buf.data() + (i % 256) * 4096, 4096, false);
      }
      if (err == 0) err = cache.fsync(ino);
    } else {  // read1m, cold: this cache has never seen the file
      for (uint64_t off = 0; off < s.size && err == 0; off += buf.size())
        err = cache.read(ino, 0, base, nblocks, off, buf.data(), buf.size());
    }
    if (err == 0 && workload != "read1m") err = dev->flush();
    out->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  auto st = dev->stats().snapshot();
  out->strategy = cache::to_string(w);
  out->workload = workload;
  out->mib = workload == "rand4k" ? double(std::min<uint64_t>(nblocks, 65536)) * 4096 / (1 << 20) : double(s.size) / (1 << 20);
  out->dev_writes = st.write_submissions;
  out->dev_write_bytes = st.write_bytes;
  out->dev_reads = st.read_submissions;
  out->dev_read_bytes = st.read_bytes;
  if (blk && io::read_block_stat_fd(dev->fd(), &after) == 0) {
    out->have_blk = true;
    out->blk = after - before;
  }
  return err;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark the chainfs page cache over io_uring (overwrites DEVICE)", "chainfs-cache-bench"};
  Setup s;
  std::string size_text = "1G", completion = "thread", page_alloc = "gang", json_path;
  std::vector<std::string> strategies = {"chain", "page", "sync"};
  std::vector<std::string> workloads = {"seq8k", "seq1m", "rand4k", "read1m"};
  app.add_option("DEVICE", s.device, "loop device or image file")->required();
  app.add_option("--size", s.size, "bytes per workload (default 1 GiB)")->default_val(uint64_t{1} << 30);
  app.add_option("--completion", completion, base::choice_list(io::completion_modes()))->default_val("thread");
  app.add_option("--page-alloc", page_alloc, base::choice_list(mem::pool_kinds()))->default_val("gang");
  app.add_option("--cache-size", s.cache_size, "pool byte cap (0: none)")->default_val(uint64_t{256} << 20);
  app.add_option("--strategies", strategies, "write strategies to compare");
  app.add_option("--workloads", workloads, "seq8k seq1m rand4k read1m");
  app.add_option("--json", json_path, "also write the results here");
  CLI11_PARSE(app, argc, argv);
  if (!io::parse_completion_mode(completion, &s.completion)) return fmt::print(stderr, "bad --completion\n"), 1;
  auto pk = mem::parse_page_alloc(page_alloc);
  if (!pk) return fmt::print(stderr, "bad --page-alloc\n"), 1;
  s.page_alloc = *pk;
  s.offset_blocks = 256;  // leave the first MiB alone (where a superblock would be)

  fmt::print("{:<6} {:<7} {:>9} {:>10} {:>9} {:>12} {:>9} {:>12}\n", "write", "load", "MiB/s", "dev_reqs", "avg_KiB",
             "sysfs_reqs", "sysfs_KiB", "seconds");
  std::vector<Result> results;
  nlohmann::json j = nlohmann::json::array();
  for (auto& wl : workloads) {
    for (auto& st : strategies) {
      auto w = cache::parse_write_strategy(st);
      if (!w) return fmt::print(stderr, "bad strategy {}\n", st), 1;
      Result r;
      if (int e = run_one(s, *w, wl, &r); e < 0) {
        fmt::print(stderr, "{} {}: error {}\n", st, wl, e);
        return 1;
      }
      bool rd = wl == "read1m";
      uint64_t reqs = rd ? r.dev_reads : r.dev_writes, bytes = rd ? r.dev_read_bytes : r.dev_write_bytes;
      uint64_t sreqs = rd ? r.blk.read_ios : r.blk.write_ios;
      double savg = rd ? r.blk.avg_read_bytes() : r.blk.avg_write_bytes();
      fmt::print("{:<6} {:<7} {:>9.1f} {:>10} {:>9.1f} {:>12} {:>9.1f} {:>12.3f}\n", st, wl, r.mib / r.seconds, reqs,
                 reqs ? double(bytes) / double(reqs) / 1024 : 0.0, r.have_blk ? fmt::format("{}", sreqs) : "-",
                 r.have_blk ? savg / 1024 : 0.0, r.seconds);
      j.push_back({{"write_strategy", st}, {"workload", wl}, {"mib_per_s", r.mib / r.seconds}, {"requests", reqs},
                   {"avg_request_bytes", reqs ? double(bytes) / double(reqs) : 0.0}, {"sysfs_requests", sreqs},
                   {"sysfs_avg_request_bytes", savg}, {"seconds", r.seconds}});
      results.push_back(r);
    }
  }
  // The figure this benchmark exists for: chain over sync on the 8 KiB sequential workload.
  double chain = 0, sync = 0;
  for (auto& r : results) {
    if (r.workload != "seq8k") continue;
    if (r.strategy == "chain") chain = r.mib / r.seconds;
    if (r.strategy == "sync") sync = r.mib / r.seconds;
  }
  if (chain > 0 && sync > 0) fmt::print("seq8k chain/sync throughput ratio: {:.2f}\n", chain / sync);
  if (!json_path.empty()) cache::write_file_atomic(json_path, j.dump(2) + "\n");
  return 0;
}
