#include "io/queue_limits.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fstream>

namespace chainfs::io {
namespace {

bool read_u32(const std::string& path, uint32_t* out) {
  std::ifstream f(path);
  uint64_t v = 0;
  if (!(f >> v) || v == 0 || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

QueueLimits read_queue_limits(int fd) {
  QueueLimits l;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode)) return l;
  // /sys/dev/block/MAJ:MIN/queue exists for whole disks; a partition's is one level up.
  std::string base = fmt::format("/sys/dev/block/{}:{}", major(st.st_rdev), minor(st.st_rdev));
  std::string q = base + "/queue/";
  if (!std::ifstream(q + "logical_block_size")) q = base + "/../queue/";
  read_u32(q + "logical_block_size", &l.logical_block_size);
  read_u32(q + "max_sectors_kb", &l.max_sectors_kb);
  read_u32(q + "max_segments", &l.max_segments);
  read_u32(q + "max_segment_size", &l.max_segment_size);
  uint32_t opt = 0;
  if (read_u32(q + "optimal_io_size", &opt)) l.optimal_io_size = opt;
  return l;
}

}  // namespace chainfs::io
