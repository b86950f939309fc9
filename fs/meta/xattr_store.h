#pragma once
// XattrStore: loads and stores the extended attributes of one inode (inline blob or a
// chain of xattr blocks, FORMAT.md). The caller holds the inode's lock.
#include <cstdint>

#include "fs/format/inode.h"
#include "fs/format/xattr.h"
#include "fs/meta/volume.h"

namespace chainfs::fs {

class XattrStore {
 public:
  XattrStore(Volume& v, uint64_t ino, format::DiskInode& in) : v_(v), ino_(ino), in_(in) {}
  int load(format::XattrMap* out);
  // Rewrites the whole set: inline when it fits, else a new chain (old blocks freed).
  // -ENOSPC leaves the old set in place.
  int store(const format::XattrMap& m);
  // Frees the chain.
  void free_chain();

 private:
  Volume& v_;
  uint64_t ino_;
  format::DiskInode& in_;
};

}  // namespace chainfs::fs
