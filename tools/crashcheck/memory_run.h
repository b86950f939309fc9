#pragma once
// record_memory_run: the unit-level driver. mkfs on an io::MemDevice, mount it through an
// io::RecordingDevice (fs::mount_filesystem, so file data takes the same page-cache path
// as in the daemon), run the workload over fs::Filesystem, unmount. The result is what
// replay() takes: the image before the mount, the log of the whole mount, the record.
#include <cstdint>
#include <string>
#include <vector>

#include "io/recording_device.h"
#include "tools/crashcheck/record.h"
#include "tools/crashcheck/workload.h"

namespace chainfs::crashcheck {

struct MemoryRunOptions {
  WorkloadOptions workload;
  uint64_t device_bytes = 16u << 20;
  std::string log_path;  // also write the log to this file (replayable with "replay")
};

struct MemoryRun {
  std::vector<char> start_image;
  std::vector<io::LogEntry> log;
  DurabilityRecord record;
  int workload_status = 0;  // run_workload's result (record.stopped says why it stopped)
};

// 0, or -errno with *msg set when mkfs, mount or unmount failed.
int record_memory_run(const MemoryRunOptions& o, MemoryRun* out, std::string* msg);

}  // namespace chainfs::crashcheck
