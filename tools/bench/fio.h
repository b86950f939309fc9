#pragma once
// fio as a second load generator, when it is installed: the same patterns as our own
// seq-write-1m (with a final fsync) and rand-read-4k, run by fio (psync engine on a
// filesystem; io_uring with O_DIRECT and 32 in flight on the raw device). Its JSON report
// gives bytes, operations and its own runtime; the Meter around it gives the device
// counts and CPU (fio is a child of the bench, reaped inside the measurement).
#include <string>
#include <vector>

#include "tools/bench/cell.h"
#include "tools/bench/workloads.h"

namespace chainfs::bench {

inline const std::vector<std::string>& fio_workloads() {
  static const std::vector<std::string> w{"fio-seq-write-1m", "fio-rand-read-4k"};
  return w;
}

// The fio binary, or "" when not installed.
std::string find_fio();

// One repetition: in dir (a mounted filesystem) when device is empty, else on the device.
int run_fio_workload(const std::string& fio, const std::string& workload, const std::string& dir,
                     const std::string& device, const WorkParams& p, Meter& m, Sample* s, std::string* why);

}  // namespace chainfs::bench
