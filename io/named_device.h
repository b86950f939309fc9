#pragma once
// open_named_device: the one place that turns what a user typed as a device into a Device.
//  * an NBD URI (nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=PATH, ...; is_nbd_uri)
//    opens an NbdDevice: both faces, synchronous and asynchronous, whatever `async` says;
//  * anything else is a path (block device or image file): a UringDevice when `async`, else
//    a SyncDevice.
// The asynchronous face is the result's bio_face(), for a UringDevice or an NbdDevice.
#include <memory>
#include <string>

#include "io/device.h"
#include "io/nbd_device.h"
#include "io/uring_device.h"

namespace chainfs::io {

struct NamedDeviceOptions {
  bool async = false;  // paths: UringDevice (true) or SyncDevice (false)
  UringOptions uring;
  NbdOptions nbd;
};

// 0 or -errno, as the device's open(); *error (if given) gets a detail line for NBD.
int open_named_device(const std::string& name, const OpenOptions& opts, const NamedDeviceOptions& nopts,
                      std::unique_ptr<Device>* out, std::string* error = nullptr);

// The message for a failed open_named_device: "DEV is in use (...)" and the like.
std::string open_error_text(const std::string& name, int err, const std::string& detail);

}  // namespace chainfs::io
