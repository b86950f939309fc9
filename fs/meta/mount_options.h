#pragma once
// The metadata layer's mount options (MountOptions in filesystem.h), declared once in an
// option table (base/option_table.h): stats=, flush_interval=, compound_fallback.
#include "base/option_table.h"
#include "fs/meta/filesystem.h"

namespace chainfs::fs {

const base::OptionTable<MountOptions>& mount_option_table();

}  // namespace chainfs::fs
