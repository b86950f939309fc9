#pragma once
// open_data_device: opens the device a mount's write strategy needs, by name
// (io/named_device.h: a path or an NBD URI).
//  * write_strategy=chain|page: an io::UringDevice (completion mode from the options). It is
//    both the io::Device that metadata goes through and the io::BioDevice the page cache
//    submits to, so one exclusive descriptor serves both and one flush() covers both.
//  * write_strategy=sync: an io::SyncDevice (one pwrite per write, the baseline); the page
//    cache runs over it through an io::SyncBioDevice.
//  * an NBD URI: an io::NbdDevice whatever the strategy (it has both faces; the request
//    timeout is nbd_timeout_s).
#include <memory>
#include <string>

#include "fs/meta/filesystem.h"
#include "io/device.h"

namespace chainfs::fs {

// 0 or -errno, as io::open_named_device; *error (if given) gets a detail line.
int open_data_device(const std::string& name, const io::OpenOptions& oo, const MountOptions& opts,
                     std::unique_ptr<io::Device>* out, std::string* error = nullptr);

}  // namespace chainfs::fs
