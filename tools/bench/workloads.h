#pragma once
// The load generator. Filesystem workloads go through real system calls on files in a
// directory (any filesystem: chainfs, ext4, fuse2fs); the raw-device reference runs the
// same access patterns on the block device through io_uring with O_DIRECT (the engine's
// UringDevice and bio_chain builder: sequential patterns merged to the device's largest
// requests, random ones as single 4 KiB requests with up to 64 in flight) — the physical
// limit the filesystems are compared with.
//
// Each workload stops at its byte/op budget or after `runtime` seconds, whichever comes
// first, and the Meter covers exactly the timed part (including the final fsync/flush).
// What a workload uses but does not write itself (a file, a tree, a large directory) is
// made beforehand by prepare_fs_workload, outside the measurement.
#include <cstdint>
#include <string>
#include <vector>

#include "tools/bench/cell.h"

namespace chainfs::bench {

struct WorkParams {
  uint64_t size = 256ull << 20;  // bytes per file (sequential) and range of random I/O
  double runtime = 10;           // seconds, at most, per repetition
  uint32_t files = 20000;        // for "files" and "stat-tree"
  uint32_t entries = 100000;     // for "readdir" and "readdir-stat"
  uint64_t seed = 42;
};

// In the order they run: the reads use the file seq-write-1m wrote; the metadata workloads
// (files, then stat-tree, readdir, readdir-stat) come last.
const std::vector<std::string>& all_workloads();
bool is_workload(const std::string& name);
// "MB/s" or "ops/s".
const char* workload_unit(const std::string& name);
// True for the reads that need a cold cache (drop_caches and remount first).
bool workload_is_read(const std::string& name);
// True for the workloads that read or overwrite what seq-write-1m wrote (its file on a
// filesystem, area B of the raw device); fio-rand-read-4k included.
bool workload_uses_seq1m(const std::string& name);

// Makes in dir what workload w needs and does not write itself, unless it is there already:
// the seq-write-1m file for the workloads that use it, stat-tree's tree, the directory that
// readdir and readdir-stat list. Untimed; cheap when called again for the next repetition.
// Call it before the cold remount, so that what it wrote is not in any cache. 0 or -errno
// (*why set).
int prepare_fs_workload(const std::string& workload, const std::string& dir, const WorkParams& p,
                        std::string* why);

// Runs one repetition of workload in dir; 0 or -errno (*why set).
int run_fs_workload(const std::string& workload, const std::string& dir, const WorkParams& p, Meter& meter,
                    Sample* out, std::string* why);

// Runs one repetition on the raw device; -EOPNOTSUPP for workloads without a raw form (files,
// stat-tree, readdir, readdir-stat).
int run_raw_workload(const std::string& workload, const std::string& device, const WorkParams& p, Meter& meter,
                     Sample* out, std::string* why);

}  // namespace chainfs::bench
