#pragma once
// BlockStat: the kernel's own count of a block device's requests (/sys/block/X/stat, see
// Documentation/block/stat.rst), so tests and benchmarks can check chainfs's statistics
// against what actually reached the device. Read before and after, subtract.
#include <cstdint>
#include <string>

namespace chainfs::io {

struct BlockStat {
  uint64_t read_ios = 0, read_merges = 0, read_sectors = 0, read_ticks = 0;
  uint64_t write_ios = 0, write_merges = 0, write_sectors = 0, write_ticks = 0;
  uint64_t in_flight = 0, io_ticks = 0, time_in_queue = 0;
  uint64_t flush_ios = 0;

  // Average completed write request in bytes (sectors are always 512 bytes here).
  double avg_write_bytes() const { return write_ios ? double(write_sectors) * 512.0 / double(write_ios) : 0.0; }
  double avg_read_bytes() const { return read_ios ? double(read_sectors) * 512.0 / double(read_ios) : 0.0; }
};

// Counter deltas (in_flight is taken from `after`).
BlockStat operator-(const BlockStat& after, const BlockStat& before);

// Parses the text of a stat file; 0 or -EINVAL.
int parse_block_stat(const std::string& text, BlockStat* out);
// Reads the stat of a block device given by path (/dev/loop3), name (loop3) or open fd.
// 0, -ENOENT (no such device), -ENOTBLK (not a block device) or -errno.
int read_block_stat(const std::string& dev, BlockStat* out);
int read_block_stat_fd(int fd, BlockStat* out);

}  // namespace chainfs::io
