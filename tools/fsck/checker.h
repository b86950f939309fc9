#pragma once
// Checker: the state of one check_filesystem run, shared by its passes (internal to
// tools/fsck). Pass order, each depending on the ones before:
//   superblocks -> bitmaps -> inodes (records, extents, xattrs, symlinks)
//   -> directories (trees, entries) -> links, parents, reachability, orphans
//   -> block ownership (duplicates) and bitmaps against the computed maps -> repair.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/btree/btree.h"
#include "fs/format/inode.h"
#include "fs/format/superblock.h"
#include "tools/fsck/check.h"
#include "tools/fsck/read_store.h"

namespace chainfs::io {
class Device;
}

namespace chainfs::fsck {

// A set of item numbers, one bit each.
class BitSet {
 public:
  void resize(uint64_t n) { w_.assign((n + 63) / 64, 0); n_ = n; }
  bool test(uint64_t i) const { return w_[i / 64] >> (i % 64) & 1; }
  void set(uint64_t i) { w_[i / 64] |= 1ull << (i % 64); }
  void clear(uint64_t i) { w_[i / 64] &= ~(1ull << (i % 64)); }
  // Sets i and returns whether it was already set.
  bool test_set(uint64_t i) {
    uint64_t m = 1ull << (i % 64);
    bool was = w_[i / 64] & m;
    w_[i / 64] |= m;
    return was;
  }
  uint64_t size() const { return n_; }
  uint64_t word(uint64_t i) const { return w_[i]; }  // items 64i .. 64i+63
  uint64_t count() const;
  bool any() const;

 private:
  std::vector<uint64_t> w_;
  uint64_t n_ = 0;
};

// What a claimed run of blocks is to its owner.
enum class ClaimKind : uint8_t { kMetadata, kData, kExtentNode, kDirNode, kXattr };

struct Claim {
  uint64_t start = 0, len = 0;
  uint64_t owner = 0;  // inode number; 0 for the fixed metadata regions
  ClaimKind kind = ClaimKind::kMetadata;
  bool dead = false;  // repair: the owner gave these blocks up (cleared, rewritten elsewhere)
};

// What the later passes need to know of one in-use inode.
struct InodeInfo {
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint64_t parent = 0;       // directories: the parent field
  uint64_t dir_entries = 0;  // directories: the entry count field
  uint64_t tree_root = 0;
  uint64_t size = 0;
  uint64_t xattr_block = 0;
  uint64_t blocks = 0;        // the blocks field
  uint64_t blocks_found = 0;  // blocks found owned by it
  uint64_t links_found = 0;   // directory entries pointing to it
  uint64_t subdirs_found = 0; // directories: entries that are directories
  uint64_t orphan_next = 0;
  uint64_t found_in = 0;      // directories: the (last) directory holding an entry for it
  uint64_t entries_found = 0; // directories: entries read from its tree
  uint64_t fix_size = 0;      // repair: the size its extents need (0: keep the size)
  bool valid = false;         // the record decoded
  bool damaged = false;       // some of its structure could not be walked
  bool orphan = false;        // on the orphan list
  bool reachable = false;
  // What repair must do (set by the check, repair.cc acts on them).
  bool clear = false;        // free the inode (bad record, bad symlink, unlinked)
  bool fix_extents = false;  // write the extent list of Checker::ext_ back
  bool tree_bad = false;     // its tree has bad nodes: salvage what reads, plus loose leaves
  bool fix_xattrs = false;   // write the blob of Checker::xattrs_ back
  bool rebuild = false;      // directories: rebuild the tree from its salvageable entries
};

class Checker {
 public:
  Checker(io::Device& dev, const CheckOptions& opts, CheckResult& res)
      : dev_(dev), opts_(opts), res_(res) {}
  void run();
  // repair.cc: fixes everything the check found (see there); the number of blocks written,
  // or -errno. extra gets lines for repairs that are not plain fixes of a problem (an inode
  // cleared because no space was left for its copy, /lost+found made, ...).
  int64_t repair(std::vector<Problem>* extra);

 private:
  // check.cc
  bool load_superblock();
  bool check_ro_compat();  // false: a feature this fsck cannot check (res_ says which)
  void check_backup_superblock();
  void load_bitmaps();
  void check_ownership();
  void check_block_bitmap();
  void check_free_counts();
  // check_inodes.cc
  void scan_inodes();
  void check_inode(uint64_t ino, const format::DiskInode& in, InodeInfo& info);
  void check_extents(uint64_t ino, const format::DiskInode& in, InodeInfo& info,
                     std::vector<format::Extent>* out);
  void check_symlink(uint64_t ino, const format::DiskInode& in, const std::vector<format::Extent>& ex);
  void check_xattrs(uint64_t ino, const format::DiskInode& in, InodeInfo& info);
  // Reads an inode's xattr chain into *blob (and its blocks into *blocks when given); "" or
  // why it failed.
  std::string read_xattr_chain(uint64_t ino, uint64_t first, std::string* blob, std::vector<uint64_t>* blocks);
  // Walks one inode's B+tree (extent or directory tree) with BTree::check_all: claims every
  // good node, reports every bad one. False when some node was bad (the tree is damaged).
  bool walk_tree(uint64_t ino, InodeInfo& info, ReadStore& store, btree::BTree& tree, ClaimKind kind);
  // check_dirs.cc
  void scan_directories();
  void check_directory(uint64_t ino, InodeInfo& info);
  void check_orphans();  // before check_links: it marks the orphans
  void check_links();

  // Helpers.
  void problem(std::string text);
  // What the next mount fixes by itself after an unclean unmount (free counts): a note in
  // -n mode, a problem (fixed) when repairing.
  void expected_after_crash(std::string text);
  void progress(std::string_view phase, uint64_t done, uint64_t total);
  // Records that owner uses blocks [start, start+len); blocks outside the device are the
  // caller's to reject first.
  void claim(uint64_t start, uint64_t len, uint64_t owner, ClaimKind kind);
  std::string owner_name(const Claim& c) const;
  bool inode_bit(uint64_t ino) const;  // on-disk inode bitmap (ino >= 1)
  bool block_bit(uint64_t blk) const;  // on-disk block bitmap

  io::Device& dev_;
  const CheckOptions& opts_;
  CheckResult& res_;
  uint64_t dev_blocks_ = 0;

  format::Superblock sb_;
  bool sb_from_backup_ = false;
  // On-disk bitmaps, the bits of all blocks concatenated, and which blocks verified.
  std::vector<uint8_t> bbits_, ibits_;
  std::vector<bool> bb_ok_, ib_ok_;

  BitSet used_;  // computed: blocks owned by something
  BitSet dup_;   // computed: blocks claimed more than once
  std::vector<Claim> claims_;
  std::unordered_map<uint64_t, InodeInfo> inodes_;  // in-use inodes (bitmap bit set)
  std::vector<uint64_t> order_;  // the keys of inodes_ in increasing order (stable reports)
  std::vector<std::pair<uint64_t, uint64_t>> edges_;  // (directory, entry's inode)
  bool damaged_ = false;  // some object could not be walked: its blocks are unknown
  bool dirs_damaged_ = false;  // some directory could not be read: its entries are unknown
  // Repair mode: every file's extents as checked (or as they are to be written back), and the
  // xattr blobs to write back.
  std::unordered_map<uint64_t, std::vector<format::Extent>> ext_;
  std::unordered_map<uint64_t, std::string> xattrs_;
  // repair.cc state: blocks owned or handed out (the allocator's map) and its cursor.
  BitSet taken_;
  uint64_t alloc_next_ = 0;
  std::unordered_map<uint64_t, std::vector<size_t>> claims_of_;  // owner -> indexes into claims_
  friend class Repair;
};

}  // namespace chainfs::fsck
