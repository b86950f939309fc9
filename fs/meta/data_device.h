#pragma once
// open_data_device: opens the device a mount's write strategy needs.
//  * write_strategy=chain|page: an io::UringDevice (completion mode from the options). It is
//    both the io::Device that metadata goes through and the io::BioDevice the page cache
//    submits to, so one exclusive descriptor serves both and one flush() covers both.
//  * write_strategy=sync: an io::SyncDevice (one pwrite per write, the baseline); the page
//    cache runs over it through an io::SyncBioDevice.
#include <memory>
#include <string>

#include "fs/meta/filesystem.h"
#include "io/device.h"

namespace chainfs::fs {

// 0 or -errno, as io::SyncDevice::open / io::UringDevice::open.
int open_data_device(const std::string& path, const io::OpenOptions& oo, const MountOptions& opts,
                     std::unique_ptr<io::Device>* out);

}  // namespace chainfs::fs
