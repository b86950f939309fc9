#pragma once
// make_filesystem: writes an empty chainfs v1 on a device (mkfs.chainfs and tests).
#include <cstdint>
#include <functional>
#include <string>

#include "io/device.h"

namespace chainfs::fs {

struct MkfsOptions {
  std::string label;     // at most 64 bytes
  uint64_t inodes = 0;   // 0: one per 16 KiB (up to 131072, one per 8 KiB, on small devices)
  uint32_t root_uid = 0, root_gid = 0;
  // Called now and then with (done, total) units of work; may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
};

// Writes both superblocks, the bitmaps and the root directory
// (mode 0755), then flushes. 0, or -errno with *msg set to one line (for example a
// device too small, with the minimum size).
int make_filesystem(io::Device& dev, const MkfsOptions& opts, std::string* msg);

}  // namespace chainfs::fs
