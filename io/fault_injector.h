#pragma once
// make_fault_injector: wraps the device of a real mount so tests can make it fail (a test
// hook of the chainfs daemon, not a user feature). The rules (io/fault_rules.h) come from a
// control file, read again whenever it changes (its inode, size or mtime; checked at every
// request), so a test switches faults on and off while the filesystem is mounted: write the
// new rules to a temporary file and rename it over the control file; remove it (or leave it
// empty) for no faults. Rules that do not parse keep the previous ones (logged).
//
// Both faces of a device that is also a BioDevice (UringDevice) go through the rules: a bio
// that is hit ends with -EIO (its callbacks run in submit(), as SyncBioDevice's do); a torn
// bio sends its first half on, then ends with -EIO; a delayed bio waits in submit().
#include <memory>
#include <string>

#include "io/device.h"

namespace chainfs::io {

// Returns the wrapped device, or nullptr with *why when the control file exists but cannot
// be read or parsed. A missing control file means no faults (until it appears).
std::unique_ptr<Device> make_fault_injector(std::unique_ptr<Device> inner, const std::string& control_path,
                                            std::string* why);

}  // namespace chainfs::io
