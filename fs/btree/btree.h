#pragma once
// BTree: an on-disk B+tree mapping 64-bit keys to variable-length byte values, used by
// fs/meta for directory indexes (key = name hash), extent maps (key = logical block)
// and anything else keyed by a number. Nodes are BlockStore blocks with a checksummed
// header (layout in fs/format/FORMAT.md ("B+tree nodes")); a node that fails its checksum or its
// structural checks makes the operation return -EUCLEAN (kCorrupt), never crash.
//
// Not thread-safe: the owner (a directory or inode) serialises access.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "fs/btree/block_store.h"

namespace chainfs::btree {

// Largest value insert() accepts; at least 3 maximal entries fit in a leaf.
inline constexpr size_t kMaxValue = 1024;

class BTree {
 public:
  // root == 0 means an empty tree (no blocks allocated yet). tag identifies the tree's
  // kind and owner (for example an inode number) and is stored in and checked against
  // every node, so a block from another tree is detected as corruption.
  BTree(BlockStore& store, uint64_t root, uint64_t tag);

  // The root block; changes when the tree grows, shrinks or becomes empty (0). The owner
  // persists it after every mutating call.
  uint64_t root() const { return root_; }

  // 0 and the value, -ENOENT, or -errno. value may be null (existence test).
  int lookup(uint64_t key, std::string* value);
  // Inserts key; -EEXIST when present and !replace. -E2BIG when value > kMaxValue.
  // On -ENOSPC the tree is unchanged.
  int insert(uint64_t key, std::string_view value, bool replace);
  // 0, -ENOENT, or -errno.
  int remove(uint64_t key);
  // Calls fn(key, value) in key order for keys >= start until fn returns false.
  // The value view is valid during the call only; fn must not modify the tree.
  int scan(uint64_t start, const std::function<bool(uint64_t, std::string_view)>& fn);
  // Frees every block of the tree; root() becomes 0.
  int destroy();
  // Walks the whole tree checking checksums, tags, key order and levels; calls
  // on_block(blockno) for every node block (fsck builds its used-block map from this).
  // Returns 0, -EUCLEAN with *why filled, or -errno.
  int check(const std::function<void(uint64_t)>& on_block, std::string* why);
  // Like check(), but goes on past bad nodes (for fsck to report every problem and claim
  // every good node): calls on_corrupt(blockno, why) for each node that cannot be read or
  // fails its checks, skips that node's subtree, and calls on_block for every good node.
  // Returns 0, or the first error met (-EUCLEAN for corruption).
  int check_all(const std::function<void(uint64_t)>& on_block,
                const std::function<void(uint64_t, const std::string&)>& on_corrupt);

 private:
  BlockStore& store_;
  uint64_t root_;
  uint64_t tag_;
};

}  // namespace chainfs::btree
