// pool_bench: throughput of page allocation and free for each page pool kind
// (page_alloc=malloc|percpu|gang) and for plain posix_memalign, the baseline:
//   single pages, 1 and 2 threads; pages allocated on one thread and freed on another;
//   64-page gangs, 1 and 2 threads.
// Prints a table, or with --json one JSON object that includes single_2t_speedup (gang over
// posix_memalign, single pages, 2 threads) and gang64_speedup (one 64-page gang alloc+free over
// 64 posix_memalign calls and frees). Speed targets are printed, never asserted.
//   pool_bench [--seconds S] [--reps N] [--gang-pages N] [--json]
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "mem/page_pool.h"

namespace {

using chainfs::kBlockSize;
using chainfs::mem::make_page_pool;
using chainfs::mem::PagePool;
using chainfs::mem::PoolKind;
using chainfs::mem::PoolOptions;
using Clock = std::chrono::steady_clock;

constexpr double kSingle2tTarget = 3.0;
constexpr double kGang64Target = 10.0;
constexpr size_t kWorkingSet = 16;  // single pages held at once by one thread
constexpr size_t kGang = 64;

// The allocator under test: a pool, or posix_memalign/free when pool is null.
struct Allocator {
  PagePool* pool = nullptr;

  void* alloc() {
    if (pool) return pool->alloc_page();
    void* p = nullptr;
    if (posix_memalign(&p, kBlockSize, kBlockSize) != 0) std::abort();
    return p;
  }
  void free(void* p) {
    if (pool) pool->free_page(p);
    else std::free(p);
  }
  void alloc_gang(std::span<void*> out) {
    if (pool) pool->alloc_gang(out);
    else
      for (void*& p : out) p = alloc();
  }
  void free_gang(std::span<void* const> pages) {
    if (pool) pool->free_gang(pages);
    else
      for (void* p : pages) std::free(p);
  }
};

// Runs `body(stop)` on `threads` threads for about `seconds`; body returns pages allocated and
// freed. Returns millions of pages per second (alloc+free pairs), all threads together.
double run_threads(int threads, double seconds, const std::function<uint64_t(const std::atomic<bool>&)>& body) {
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<uint64_t> done(threads, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      done[t] = body(stop);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t total = 0;
  for (uint64_t d : done) total += d;
  return static_cast<double>(total) / elapsed / 1e6;
}

uint64_t single_loop(Allocator a, const std::atomic<bool>& stop) {
  void* held[kWorkingSet];
  uint64_t n = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int r = 0; r < 64; ++r) {
      for (void*& p : held) {
        p = a.alloc();
        *static_cast<char*>(p) = 1;
      }
      for (void* p : held) a.free(p);
    }
    n += 64 * kWorkingSet;
  }
  return n;
}

uint64_t gang_loop(Allocator a, const std::atomic<bool>& stop) {
  std::vector<void*> gang(kGang);
  uint64_t n = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int r = 0; r < 16; ++r) {
      a.alloc_gang(gang);
      *static_cast<char*>(gang[0]) = 1;
      a.free_gang(gang);
    }
    n += 16 * kGang;
  }
  return n;
}

// The batches in flight from the producer to the consumer of cross_thread().
struct Handoff {
  chainfs::base::Mutex mu;
  chainfs::base::CondVar cv;
  std::deque<std::vector<void*>> queue GUARDED_BY(mu);
  bool producer_done GUARDED_BY(mu) = false;
};

// One thread allocates single pages and hands them over in batches of 64; the other frees them.
double cross_thread(Allocator a, double seconds) {
  Handoff h;
  uint64_t freed = 0;
  std::atomic<bool> stop{false};
  auto start = Clock::now();
  std::thread consumer([&] {
    for (;;) {
      std::vector<void*> batch;
      {
        chainfs::base::MutexLock lock(h.mu);
        while (!h.producer_done && h.queue.empty()) h.cv.wait(h.mu);
        if (h.queue.empty()) return;
        batch = std::move(h.queue.front());
        h.queue.pop_front();
      }
      h.cv.notify_all();
      for (void* p : batch) a.free(p);
      freed += batch.size();
    }
  });
  std::thread producer([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      std::vector<void*> batch(64);
      for (void*& p : batch) {
        p = a.alloc();
        *static_cast<char*>(p) = 1;
      }
      chainfs::base::MutexLock lock(h.mu);
      while (h.queue.size() >= 16) h.cv.wait(h.mu);  // bounded: memory stays small
      h.queue.push_back(std::move(batch));
      h.cv.notify_all();
    }
    chainfs::base::MutexLock lock(h.mu);
    h.producer_done = true;
    h.cv.notify_all();
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  producer.join();
  consumer.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(freed) / elapsed / 1e6;
}

// Physical layout of 1 MiB buffers, read from /proc/self/pagemap (needs root for the frame
// numbers): how many physically contiguous runs one buffer is made of, and how many segments
// the block layer would count (runs split at 64 KiB, a loop device's max_segment_size; a
// loop device takes 128 segments per request). nullopt when frame numbers are hidden.
struct Layout {
  double runs_per_mib = 0;
  double segments_per_mib = 0;
};

std::optional<Layout> physical_layout(PagePool* pool) {
  constexpr size_t kBuffers = 32, kMib = size_t{1} << 20, kMaxSegment = 64 << 10;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::vector<chainfs::mem::CompoundBuffer> compounds;
  std::vector<std::vector<void*>> plain;  // posix_memalign pages when pool is null
  std::vector<std::vector<void*>> buffers;
  for (size_t b = 0; b < kBuffers; ++b) {
    std::vector<void*> pages;
    if (pool) {
      compounds.push_back(pool->alloc_compound(kMib));
      for (size_t i = 0; i < compounds.back().page_count(); ++i) pages.push_back(compounds.back().page(i));
    } else {
      Allocator a;
      for (size_t i = 0; i < kMib / kBlockSize; ++i) pages.push_back(a.alloc());
      plain.push_back(pages);
    }
    for (void* p : pages) static_cast<char*>(p)[0] = 1;  // fault the pages in
    buffers.push_back(std::move(pages));
  }
  std::optional<Layout> out = Layout{};
  uint64_t runs = 0, segments = 0;
  for (auto& pages : buffers) {
    uint64_t prev = 0, run_bytes = 0;
    for (size_t i = 0; i < pages.size(); ++i) {
      uint64_t entry = 0;
      off_t off = static_cast<off_t>(reinterpret_cast<uintptr_t>(pages[i]) / kBlockSize * sizeof entry);
      if (pread(fd, &entry, sizeof entry, off) != sizeof entry) entry = 0;
      uint64_t pfn = entry & ((uint64_t{1} << 55) - 1);
      if (pfn == 0) out.reset();
      bool follows = i > 0 && pfn == prev + 1;
      if (!follows) {
        ++runs;
        ++segments;
        run_bytes = 0;
      } else if (run_bytes + kBlockSize > kMaxSegment) {
        ++segments;
        run_bytes = 0;
      }
      run_bytes += kBlockSize;
      prev = pfn;
    }
  }
  close(fd);
  for (auto& pages : plain) {
    for (void* p : pages) std::free(p);
  }
  if (out) {
    out->runs_per_mib = static_cast<double>(runs) / kBuffers;
    out->segments_per_mib = static_cast<double>(segments) / kBuffers;
  }
  return out;
}

struct Row {
  std::string allocator;
  std::string bench;
  int threads;
  double mpages_per_s;  // million pages allocated and freed per second (median of the reps)
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pool_bench: alloc+free throughput of chainfs's page pools"};
  double seconds = 0.25;
  int reps = 3;
  size_t gang_pages = 64;
  bool json = false;
  app.add_option("--seconds", seconds, "duration of each measurement")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "repetitions of each measurement (the median is reported)")->check(CLI::Range(1, 100));
  app.add_option("--gang-pages", gang_pages, "thread cache refill/drain batch of the gang pool")->check(CLI::Range(1, 1024));
  app.add_flag("--json", json, "print one JSON object instead of the table");
  CLI11_PARSE(app, argc, argv);

  struct Candidate {
    std::string name;
    std::unique_ptr<PagePool> pool;
  };
  std::vector<Candidate> candidates;
  candidates.push_back({"posix_memalign", nullptr});
  for (PoolKind kind : {PoolKind::kMalloc, PoolKind::kPercpu, PoolKind::kGang}) {
    PoolOptions o;
    o.kind = kind;
    o.gang_pages = gang_pages;
    candidates.push_back({chainfs::mem::to_string(kind), make_page_pool(o)});
  }

  std::vector<Row> rows;
  const bool progress = !json && isatty(STDERR_FILENO);
  for (auto& c : candidates) {
    Allocator a{c.pool.get()};
    auto measure = [&](const std::string& bench, int threads, const std::function<double()>& once) {
      std::vector<double> v;
      for (int r = 0; r < reps; ++r) v.push_back(once());
      rows.push_back({c.name, bench, threads, median(v)});
      if (progress) fmt::print(stderr, "\r{:<16} {:<8} {}t  ", c.name, bench, threads);
    };
    measure("single", 1, [&] { return run_threads(1, seconds, [&](auto& stop) { return single_loop(a, stop); }); });
    measure("single", 2, [&] { return run_threads(2, seconds, [&](auto& stop) { return single_loop(a, stop); }); });
    measure("cross", 2, [&] { return cross_thread(a, seconds); });
    measure("gang64", 1, [&] { return run_threads(1, seconds, [&](auto& stop) { return gang_loop(a, stop); }); });
    measure("gang64", 2, [&] { return run_threads(2, seconds, [&](auto& stop) { return gang_loop(a, stop); }); });
  }
  if (progress) fmt::print(stderr, "\r{:40}\r", "");
  std::vector<std::optional<Layout>> layouts;
  for (auto& c : candidates) layouts.push_back(physical_layout(c.pool.get()));

  auto find = [&](const std::string& alloc, const std::string& bench, int threads) {
    for (const Row& r : rows)
      if (r.allocator == alloc && r.bench == bench && r.threads == threads) return r.mpages_per_s;
    return 0.0;
  };
  double single_2t_speedup = find("gang", "single", 2) / find("posix_memalign", "single", 2);
  double gang64_speedup = find("gang", "gang64", 1) / find("posix_memalign", "gang64", 1);

  if (json) {
    nlohmann::json j;
    j["unit"] = "million pages allocated and freed per second";
    j["seconds_per_measurement"] = seconds;
    j["reps"] = reps;
    j["gang_pages"] = gang_pages;
    j["results"] = nlohmann::json::array();
    for (const Row& r : rows) {
      j["results"].push_back({{"allocator", r.allocator}, {"bench", r.bench}, {"threads", r.threads},
                              {"mpages_per_s", r.mpages_per_s}});
    }
    j["single_2t_speedup"] = single_2t_speedup;
    j["gang64_speedup"] = gang64_speedup;
    j["single_2t_speedup_target"] = kSingle2tTarget;
    j["gang64_speedup_target"] = kGang64Target;
    for (size_t i = 0; i < candidates.size(); ++i) {
      nlohmann::json l;  // null when the frame numbers are hidden (not root)
      if (layouts[i]) l = {{"runs_per_mib", layouts[i]->runs_per_mib}, {"segments_per_mib", layouts[i]->segments_per_mib}};
      j["physical_layout_1mib"][candidates[i].name] = l;
    }
    for (auto& c : candidates) {
      if (!c.pool) continue;
      nlohmann::json s;
      c.pool->stats().visit([&](const char* name, uint64_t v) { s[name] = v; });
      j["pool_stats"][c.name] = s;
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("alloc+free throughput, million pages/s (median of {} x {:.2f} s; {} hardware threads)\n", reps, seconds,
             std::thread::hardware_concurrency());
  fmt::print("{:<16} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14}\n", "allocator", "single 1t", "single 2t", "cross 2t",
             "gang64 1t", "gang64 2t", "1MiB runs/segs");
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& name = candidates[i].name;
    std::string layout = layouts[i] ? fmt::format("{:.1f}/{:.1f}", layouts[i]->runs_per_mib, layouts[i]->segments_per_mib)
                                    : std::string("n/a");
    fmt::print("{:<16} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>14}\n", name, find(name, "single", 1),
               find(name, "single", 2), find(name, "cross", 2), find(name, "gang64", 1), find(name, "gang64", 2), layout);
  }
  fmt::print("1MiB runs/segs: physically contiguous runs and block-layer segments (64 KiB max) of a 1 MiB buffer\n");
  fmt::print("single_2t_speedup (gang / posix_memalign, single pages, 2 threads): {:.1f} (target >= {:.0f})\n",
             single_2t_speedup, kSingle2tTarget);
  fmt::print("gang64_speedup (one 64-page gang / 64 posix_memalign, 1 thread):    {:.1f} (target >= {:.0f})\n",
             gang64_speedup, kGang64Target);
  return 0;
}
