#include "io/named_device.h"

#include <fmt/format.h>

#include <cstring>

#include "io/sync_device.h"

namespace chainfs::io {

int open_named_device(const std::string& name, const OpenOptions& opts, const NamedDeviceOptions& nopts,
                      std::unique_ptr<Device>* out, std::string* error) {
  if (is_nbd_uri(name)) {
    std::unique_ptr<NbdDevice> d;
    int r = NbdDevice::open(name, opts, nopts.nbd, &d, error);
    if (r == 0) *out = std::move(d);
    return r;
  }
  if (nopts.async) {
    std::unique_ptr<UringDevice> d;
    int r = UringDevice::open(name, opts, nopts.uring, &d);
    if (r == 0) *out = std::move(d);
    return r;
  }
  std::unique_ptr<SyncDevice> d;
  int r = SyncDevice::open(name, opts, &d);
  if (r == 0) *out = std::move(d);
  return r;
}

std::string open_error_text(const std::string& name, int err, const std::string& detail) {
  if (is_nbd_uri(name) && err == -EBUSY) return name + " is in use (mounted or opened by another chainfs on this machine)";
  if (is_nbd_uri(name))
    return fmt::format("cannot connect to {}: {}{}", name, std::strerror(-err), detail.empty() ? "" : " (" + detail + ")");
  switch (-err) {
    case EBUSY: return name + " is in use (mounted or opened exclusively)";
    case ENOTBLK: return name + " is neither a block device nor a regular file";
    default: return fmt::format("cannot open {}: {}", name, std::strerror(-err));
  }
}

}  // namespace chainfs::io
