#pragma once
// The FUSE low-level operations of chainfs: one op_<name> per request type, each thin
// (convert the arguments, call fs::Filesystem, reply exactly once). The session's
// userdata must be a fuse::Context.
#include <fuse_lowlevel.h>

namespace chainfs::fuse {

// The operation table for fuse_session_new().
fuse_lowlevel_ops make_operations();

}  // namespace chainfs::fuse
