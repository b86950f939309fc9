#pragma once
// ExtentMap: the logical -> device block map of one inode: up to kInlineExtents extents
// in the inode, then an extent B+tree keyed by each extent's last logical block.
// The caller holds the inode's lock exclusively for changes (shared for lookups).
#include <cstdint>
#include <functional>

#include "fs/format/extent.h"
#include "fs/format/inode.h"
#include "fs/meta/volume.h"

namespace chainfs::fs {

using format::Extent;

class ExtentMap {
 public:
  ExtentMap(Volume& v, uint64_t ino, format::DiskInode& in) : v_(v), ino_(ino), in_(in) {}

  // The first extent whose last block is >= lblk (the one containing lblk, or the next).
  // 0 with *found, or -EUCLEAN/-errno.
  int find(uint64_t lblk, Extent* out, bool* found);
  // Adds an extent that overlaps no other. May move the map to a tree (-ENOSPC: unchanged).
  int insert(const Extent& e);
  // Removes exactly e.
  int erase(const Extent& e);
  // Inserts e merged with a physically contiguous neighbour before it, when possible.
  int insert_merge(const Extent& e);
  // Unmaps logical blocks [first, end) and frees their device blocks.
  int punch(uint64_t first, uint64_t end);
  // Calls fn for each extent overlapping [first, end), in order; fn returns false to stop.
  int for_each(uint64_t first, uint64_t end, const std::function<bool(const Extent&)>& fn);
  // Frees every block (data and tree); the map becomes empty and inline.
  int destroy();
  // Number of extents (walks the tree; for tests and statistics).
  int count(uint64_t* n);

 private:
  bool tree() const { return in_.flags & format::kInodeExtentTree; }
  int inline_load(Extent* ex) const;
  void inline_store(const Extent* ex, int n);
  int to_tree(const Extent* ex, int n);
  int check(const Extent& e, uint64_t key) const;

  Volume& v_;
  uint64_t ino_;
  format::DiskInode& in_;
};

}  // namespace chainfs::fs
