#pragma once
// run_workload: a seeded mixed workload on an empty filesystem, with its durability record.
//
// Layout: directories d0..d{dirs-1} under the root (made and synced first); a name pool of
// f0..f{names-1} in the root and in each directory; empty directories x0..x{empty_dirs-1}
// in the root that come and go. Operations, chosen at random (seeded: the same seed gives
// the same operations on any target): create (sometimes with data), overwrite, append,
// truncate, fallocate (allocate, keep-size, punch hole, zero range), rename (over an
// existing file or to a free name, also across directories), hard link, unlink (also of
// open files, which keep being written), setxattr/removexattr, mkdir/rmdir, close, and at
// random points fsync, fdatasync, fsync of a directory and sync. Ends by closing every file.
//
// The record (record.h) gets a set event per slot an operation changes (before the call:
// a call that fails may still have reached the disk) and durable events after each
// successful fsync (the file's content; xattrs too unless fdatasync), fsync of a
// directory (its names) and sync (everything).
#include <cstdint>

#include "tools/crashcheck/access.h"
#include "tools/crashcheck/record.h"

namespace chainfs::crashcheck {

struct WorkloadOptions {
  uint64_t seed = 1;
  uint32_t ops = 200;
  uint32_t dirs = 2;
  uint32_t names = 6;        // per directory (and in the root)
  uint32_t empty_dirs = 2;
  uint32_t max_file = 48 << 10;
  // Whether Target::sync() makes everything durable. syncfs(2) on a FUSE mount does not
  // reach a daemon built on libfuse before 3.16 (no syncfs operation: the kernel returns
  // success at once), so the system-call driver sets this false: its syncs promise nothing
  // and the workload makes its directories' names durable with fsyncdir instead.
  bool sync_is_durable = true;
};

// 0 when every operation succeeded, else the first failure's negative errno (rec->stopped
// says which operation; the record holds everything up to it).
int run_workload(Target& t, const WorkloadOptions& o, DurabilityRecord* rec);

}  // namespace chainfs::crashcheck
