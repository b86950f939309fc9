#include "fs/meta/data_device.h"

#include "io/sync_device.h"
#include "io/uring_device.h"

namespace chainfs::fs {

int open_data_device(const std::string& path, const io::OpenOptions& oo, const MountOptions& opts,
                     std::unique_ptr<io::Device>* out) {
  if (opts.write_strategy == cache::WriteStrategy::kSync) {
    std::unique_ptr<io::SyncDevice> d;
    int r = io::SyncDevice::open(path, oo, &d);
    if (r == 0) *out = std::move(d);
    return r;
  }
  io::UringOptions uo;
  uo.completion = opts.completion;
  std::unique_ptr<io::UringDevice> d;
  int r = io::UringDevice::open(path, oo, uo, &d);
  if (r == 0) *out = std::move(d);
  return r;
}

}  // namespace chainfs::fs
