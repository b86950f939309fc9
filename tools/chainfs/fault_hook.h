#pragma once
// Test hook for the fault tests (test/regress/tests/chainfs, io/fault_injector.h), not for
// users: with CHAINFS_FAULT_CONTROL=/absolute/path in the environment, the mount's device is
// wrapped in a fault injector whose rules (io/fault_rules.h) come from that file, re-read
// whenever it changes.
#include <memory>

#include "io/device.h"

namespace chainfs::daemon {

// 0 (wrapped, or no hook asked for), or -EINVAL after logging why the rules are refused.
int inject_faults_if_asked(std::unique_ptr<io::Device>* dev);

}  // namespace chainfs::daemon
