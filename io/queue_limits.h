#pragma once
// The request limits of a device, read from /sys/block/X/queue for block devices;
// documented defaults (those of a Linux loop device) for image files.
#include <cstdint>
#include <string>

namespace chainfs::io {

struct QueueLimits {
  uint32_t logical_block_size = 512;  // alignment of offsets, lengths and buffers
  uint32_t max_sectors_kb = 1280;     // largest request in KiB
  uint32_t max_segments = 128;        // iovec entries per request
  uint32_t max_segment_size = 65536;  // bytes per physically contiguous segment
  uint32_t optimal_io_size = 0;       // 0: none reported

  uint64_t max_request_bytes() const { return uint64_t{max_sectors_kb} * 1024; }
};

// Limits of the block device open as fd; image files (and anything without a sysfs
// queue directory) get the defaults above.
QueueLimits read_queue_limits(int fd);

}  // namespace chainfs::io
