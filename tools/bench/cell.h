#pragma once
// Cell: one (target, workload) of the matrix with its repetitions, and Meter, which takes
// the before/after readings every repetition needs: wall time, the device's own request
// counts (/sys/block/X/stat), CPU and context switches of the bench and of the daemon
// serving the mount, and the peak RSS of whichever of them holds the data.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "io/block_stat.h"
#include "tools/bench/proc_stats.h"

namespace chainfs::bench {

struct Sample {
  double seconds = 0;
  uint64_t bytes = 0;   // payload moved by the workload
  uint64_t ops = 0;     // operations (system calls or requests) done by the workload
  io::BlockStat dev{};  // device deltas
  bool have_dev = false;
  double cpu_seconds = 0;
  uint64_t vol_ctxt = 0;
  uint64_t peak_rss_kib = 0;
};

struct Cell {
  std::string level;     // "engine", "fs" or "reference"
  std::string target;    // "chainfs chain/direct", "ext4", "engine chain/thread/gang", ...
  std::string options;   // the mount options or engine settings, as given
  std::string workload;  // "seq-write-8k", ...
  std::string unit;      // "MB/s" or "ops/s"
  std::string status = "ok";  // "ok", "skipped", "failed"
  std::string reason;         // why skipped or failed
  std::vector<Sample> reps;
  // Medians over reps (filled by summarize()).
  double value = 0, seconds = 0, dev_avg_kib = 0, cpu_s_per_gib = 0, cpu_us_per_op = 0;
  double vol_ctxt = 0, peak_rss_mib = 0;
  double ratio_to_raw = 0;  // 0 = no raw cell to compare with
  bool have_dev = false;
};

// Fills the medians of c from c.reps.
void summarize(Cell* c);

class Meter {
 public:
  // dev: block device path (may be empty: no device counts); daemon: pid or -1; server: the
  // pid of a block-device server on this machine (nbdkit) whose CPU counts too, or -1.
  Meter(std::string dev, pid_t daemon, pid_t server = -1) : dev_(std::move(dev)), daemon_(daemon), server_(server) {}
  void start();
  // Fills the sample's time, device, CPU, switches and peak RSS; bytes/ops are the caller's.
  void stop(Sample* s);

 private:
  std::string dev_;
  pid_t daemon_, server_;
  std::chrono::steady_clock::time_point t0_;
  io::BlockStat dev0_{};
  bool have_dev_ = false;
  double self_cpu0_ = 0, daemon_cpu0_ = 0, server_cpu0_ = 0;
  uint64_t self_vcsw0_ = 0, daemon_vcsw0_ = 0;
};

}  // namespace chainfs::bench
