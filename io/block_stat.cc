#include "io/block_stat.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace chainfs::io {

BlockStat operator-(const BlockStat& a, const BlockStat& b) {
  BlockStat d;
  d.read_ios = a.read_ios - b.read_ios;
  d.read_merges = a.read_merges - b.read_merges;
  d.read_sectors = a.read_sectors - b.read_sectors;
  d.read_ticks = a.read_ticks - b.read_ticks;
  d.write_ios = a.write_ios - b.write_ios;
  d.write_merges = a.write_merges - b.write_merges;
  d.write_sectors = a.write_sectors - b.write_sectors;
  d.write_ticks = a.write_ticks - b.write_ticks;
  d.in_flight = a.in_flight;
  d.io_ticks = a.io_ticks - b.io_ticks;
  d.time_in_queue = a.time_in_queue - b.time_in_queue;
  d.flush_ios = a.flush_ios - b.flush_ios;
  return d;
}

int parse_block_stat(const std::string& text, BlockStat* out) {
  std::istringstream in(text);
  uint64_t v[17] = {};
  int n = 0;
  while (n < 17 && (in >> v[n])) ++n;
  if (n < 11) return -EINVAL;  // kernels before 4.18 have 11 fields, then discard, then flush
  BlockStat s;
  s.read_ios = v[0];
  s.read_merges = v[1];
  s.read_sectors = v[2];
  s.read_ticks = v[3];
  s.write_ios = v[4];
  s.write_merges = v[5];
  s.write_sectors = v[6];
  s.write_ticks = v[7];
  s.in_flight = v[8];
  s.io_ticks = v[9];
  s.time_in_queue = v[10];
  if (n >= 17) s.flush_ios = v[15];
  *out = s;
  return 0;
}

namespace {

int read_stat_file(const std::string& path, BlockStat* out) {
  std::ifstream f(path);
  if (!f) return -ENOENT;
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_block_stat(ss.str(), out);
}

int read_by_devno(dev_t rdev, BlockStat* out) {
  return read_stat_file(fmt::format("/sys/dev/block/{}:{}/stat", major(rdev), minor(rdev)), out);
}

}  // namespace

int read_block_stat(const std::string& dev, BlockStat* out) {
  if (dev.find('/') == std::string::npos) return read_stat_file("/sys/block/" + dev + "/stat", out);
  struct stat st {};
  if (stat(dev.c_str(), &st) != 0) return -errno;
  if (!S_ISBLK(st.st_mode)) return -ENOTBLK;
  return read_by_devno(st.st_rdev, out);
}

int read_block_stat_fd(int fd, BlockStat* out) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return -errno;
  if (!S_ISBLK(st.st_mode)) return -ENOTBLK;
  return read_by_devno(st.st_rdev, out);
}

}  // namespace chainfs::io
