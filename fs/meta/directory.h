#pragma once
// Directory: the entries of one directory inode, in a B+tree keyed by the 63-bit name
// hash (FORMAT.md "Directories"). The caller holds the directory inode's lock
// (shared for lookup/scan, exclusive for changes).
#include <cstdint>
#include <functional>
#include <string_view>

#include "fs/format/dirent.h"
#include "fs/format/inode.h"
#include "fs/meta/volume.h"

namespace chainfs::fs {

class Directory {
 public:
  Directory(Volume& v, uint64_t ino, format::DiskInode& in) : v_(v), ino_(ino), in_(in) {}

  // 0 with *out, -ENOENT, or -EUCLEAN/-errno.
  int lookup(std::string_view name, format::Dirent* out);
  // Adds an entry; -EEXIST when the name exists.
  int add(std::string_view name, uint64_t ino, uint8_t type);
  // Points an existing entry at another inode (rename over, exchange).
  int replace(std::string_view name, uint64_t ino, uint8_t type);
  // Removes an entry; -ENOENT when missing.
  int remove(std::string_view name);
  // Visits entries in hash order starting with hash >= start. fn(entry, next_cookie)
  // returns false to stop; next_cookie resumes after that entry.
  int scan(uint64_t start, const std::function<bool(const format::Dirent&, uint64_t)>& fn);
  // Frees the (empty) tree's blocks.
  int destroy();

 private:
  int load_bucket(uint64_t hash, std::vector<format::Dirent>* bucket);
  int store_bucket(uint64_t hash, const std::vector<format::Dirent>& bucket);

  Volume& v_;
  uint64_t ino_;
  format::DiskInode& in_;
};

}  // namespace chainfs::fs
