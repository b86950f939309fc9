#include "fs/meta/data_device.h"

#include "io/named_device.h"

namespace chainfs::fs {

int open_data_device(const std::string& name, const io::OpenOptions& oo, const MountOptions& opts,
                     std::unique_ptr<io::Device>* out, std::string* error) {
  io::NamedDeviceOptions no;
  no.async = opts.write_strategy != cache::WriteStrategy::kSync;
  no.uring.completion = opts.completion;
  no.nbd.completion = opts.completion;
  no.nbd.request_timeout_s = opts.nbd_timeout_s;
  return io::open_named_device(name, oo, no, out, error);
}

}  // namespace chainfs::fs
