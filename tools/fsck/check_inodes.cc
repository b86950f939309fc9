// Pass 1: every in-use inode record, with what hangs off it directly: extents (inline or
// in an extent tree), xattrs (inline or a chain), slow symlink targets. Directory trees
// wait for pass 2, when every inode's type is known.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/btree/btree.h"
#include "fs/format/endian.h"
#include "fs/format/xattr.h"
#include "base/result.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"
#include "tools/fsck/checker.h"

namespace chainfs::fsck {

using namespace format;

namespace {
constexpr uint64_t kChunkBlocks = 256;  // inode-table blocks per device read (1 MiB)
constexpr size_t kXattrValueMax = 65536;
constexpr uint32_t kMaxXattrChain = kXattrBlobMax / kXattrPayload + 1;

std::string extent_text(const Extent& e) {
  return fmt::format("extent (logical {}, {} blocks at {})", e.logical, e.len, e.physical);
}
}  // namespace

void Checker::scan_inodes() {
  const uint64_t n = sb_.inode_table_blocks;
  mem::AlignedBuffer buf(std::min(n, kChunkBlocks) * kBlockSize);
  DiskInode in;
  for (uint64_t i = 0; i < n; i += kChunkBlocks) {
    progress("inodes", i, n);
    const uint64_t k = std::min(kChunkBlocks, n - i);
    int r = dev_.read((sb_.inode_table_start + i) * kBlockSize, buf.data(), k * kBlockSize);
    if (r < 0) {
      res_.status = r;
      res_.error = fmt::format("cannot read the inode table at block {}: {}", sb_.inode_table_start + i,
                               std::strerror(-r));
      return;
    }
    for (uint64_t s = 0; s < k * kInodesPerBlock; ++s) {
      const uint64_t ino = i * kInodesPerBlock + s + 1;
      if (ino > sb_.inode_count) break;
      const char* slot = buf.data() + s * kInodeSize;
      // Free records are not read (FORMAT.md); where the bitmap block is unreadable, a
      // record that looks like an inode is taken to be one.
      const bool known = ib_ok_[(ino - 1) / kBitsPerBitmapBlock];
      if (known ? !inode_bit(ino) : load_le16(slot) != kInodeMagic) continue;
      InodeInfo& info = inodes_[ino];
      order_.push_back(ino);
      std::string why;
      if (decode_inode(ino, slot, &in, &why) < 0) {
        problem(fmt::format("inode {}: {}", ino, why));
        info.damaged = damaged_ = true;  // whatever it owns is unknown now
        info.clear = true;               // and repair frees it
        continue;
      }
      info.valid = true;
      info.mode = in.mode;
      info.nlink = in.nlink;
      info.parent = in.parent;
      info.dir_entries = in.dir_entries;
      info.tree_root = in.tree_root;
      info.size = in.size;
      info.xattr_block = in.xattr_block;
      info.blocks = in.blocks;
      info.orphan_next = in.orphan_next;
      check_inode(ino, in, info);
    }
  }
  progress("inodes", n, n);
  auto root = inodes_.find(kRootIno);
  if (root == inodes_.end())
    problem("inode 1: the root directory is not in use");
  else if (root->second.valid && !S_ISDIR(root->second.mode))
    problem(fmt::format("inode 1: the root is not a directory (mode {:o})", root->second.mode));
}

void Checker::check_inode(uint64_t ino, const DiskInode& in, InodeInfo& info) {
  const uint32_t type = in.mode & S_IFMT;
  auto bad = [&](std::string_view what) { problem(fmt::format("inode {}: {}", ino, what)); };
  std::vector<Extent> ex;
  switch (type) {
    case S_IFDIR:
      ++res_.stats.dirs;
      if (in.flags != 0 || in.n_inline_extents != 0) bad("directory with extent or inline-data flags");
      if (in.parent == 0 || in.parent > sb_.inode_count)
        bad(fmt::format("parent {} is not an inode number", in.parent));
      break;
    case S_IFREG:
      ++res_.stats.files;
      if (in.flags & kInodeInlineData) bad("regular file with the inline-data flag");
      check_extents(ino, in, info, &ex);
      break;
    case S_IFLNK: {
      ++res_.stats.symlinks;
      const size_t before = res_.problems.size();
      if (!(in.flags & kInodeInlineData)) check_extents(ino, in, info, &ex);
      check_symlink(ino, in, ex);
      // A symlink whose target cannot be read whole is cleared (and its entries removed).
      if (res_.problems.size() != before) info.clear = true;
      break;
    }
    default:
      ++res_.stats.special;
      if (in.flags != 0 || in.n_inline_extents != 0 || in.tree_root != 0 || in.size != 0)
        bad("device, fifo or socket with data, extents or a tree");
      break;
  }
  if (type != S_IFDIR && (in.dir_entries != 0 || in.parent != 0))
    bad("directory fields set on a non-directory");
  check_xattrs(ino, in, info);
  if (opts_.repair && !ex.empty()) ext_[ino] = std::move(ex);
}

void Checker::check_extents(uint64_t ino, const DiskInode& in, InodeInfo& info, std::vector<Extent>* out) {
  // Every problem here is repaired by writing back the extents that are good.
  auto bad = [&](std::string_view what) {
    problem(fmt::format("inode {}: {}", ino, what));
    info.fix_extents = true;
  };
  std::vector<Extent> all;
  if (in.flags & kInodeExtentTree) {
    if (in.tree_root == 0) {
      bad("extent-tree flag set but no tree root");
      return;
    }
    ReadStore store(dev_, sb_.data_start, sb_.backup_block());
    btree::BTree tree(store, in.tree_root, tree_tag(kTagExtent, ino));
    if (!walk_tree(ino, info, store, tree, ClaimKind::kExtentNode)) {
      info.tree_bad = info.fix_extents = true;  // repair salvages what can be read
      return;
    }
    int r = tree.scan(0, [&](uint64_t key, std::string_view val) {
      if (val.size() != kExtentSize) {
        bad(fmt::format("extent tree record for key {} is {} bytes, not {}", key, val.size(), kExtentSize));
        return true;
      }
      Extent e = decode_extent(val.data());
      if (e.len == 0 || key != e.last()) {
        bad(fmt::format("extent tree key {} does not match its {}", key, extent_text(e)));
      }
      all.push_back(e);
      return true;
    });
    if (r < 0) {
      bad(fmt::format("extent tree at block {} cannot be read: error {}", in.tree_root, r));
      info.damaged = damaged_ = true;
      info.tree_bad = true;
      return;
    }
  } else {
    if (in.tree_root != 0) bad(fmt::format("tree root {} without the extent-tree flag", in.tree_root));
    for (unsigned i = 0; i < in.n_inline_extents; ++i)
      all.push_back(decode_extent(in.inline_data.data() + i * kExtentSize));
    // Unused inline slots hold nothing: a record left there is a lost extent or garbage.
  }
  const uint64_t eof_block = (in.size + kBlockSize - 1) / kBlockSize;
  uint64_t prev_end = 0;
  bool first = true;
  for (const Extent& e : all) {
    if (check_extent(e, sb_.data_start, sb_.block_count) < 0) {
      bad(fmt::format("{} has a bad length or flags, or lies outside the data area", extent_text(e)));
      info.blocks_found += e.len;  // the blocks field counts it: do not report twice
      continue;  // repair drops it
    }
    if (!first && e.logical < prev_end) {
      bad(fmt::format("{} overlaps or precedes the one before it", extent_text(e)));
      continue;  // repair drops it (its blocks are not the file's)
    }
    first = false;
    prev_end = std::max(prev_end, e.end());
    if (!e.unwritten() && e.end() > eof_block) {
      bad(fmt::format("{} lies past the end of the file (size {})", extent_text(e), in.size));
      // Repair keeps the data: the size grows to cover it (a symlink is cleared instead).
      info.fix_size = std::max(info.fix_size, e.end() * kBlockSize);
    }
    out->push_back(e);
    claim(e.physical, e.len, ino, ClaimKind::kData);
    info.blocks_found += e.len;
    ++res_.stats.extents;
  }
}

bool Checker::walk_tree(uint64_t ino, InodeInfo& info, ReadStore& store, btree::BTree& tree, ClaimKind kind) {
  const char* what = kind == ClaimKind::kDirNode ? "directory tree" : "extent tree";
  uint64_t nodes = 0;
  bool reported = false;
  int r = tree.check_all(
      [&](uint64_t b) {
        claim(b, 1, ino, kind);
        ++nodes;
      },
      [&](uint64_t b, const std::string& why) {
        // A node pointer the store refused says more than the read error it caused.
        const bool refused = why.find("read error") != std::string::npos && !store.last_error().empty();
        std::string_view reason = why;
        const std::string self = fmt::format("block {} ", b);  // the walker names the block: once is enough
        if (reason.starts_with(self)) reason.remove_prefix(self.size());
        if (refused) reason = store.last_error();
        problem(fmt::format("inode {}: {} node {}{}{}", ino, what, b, reason.starts_with("at ") ? " " : ": ", reason));
        reported = true;
      });
  info.blocks_found += nodes;
  res_.stats.tree_nodes += nodes;
  if (r == 0) return true;
  if (!reported) problem(fmt::format("inode {}: {} at block {}: error {}", ino, what, tree.root(), r));
  info.damaged = damaged_ = true;
  return false;
}

void Checker::check_symlink(uint64_t ino, const DiskInode& in, const std::vector<Extent>& ex) {
  auto bad = [&](std::string_view what) { problem(fmt::format("inode {}: symlink {}", ino, what)); };
  std::string_view target;
  mem::AlignedBuffer buf(kBlockSize);
  if (in.flags & kInodeInlineData) {
    if (in.flags & kInodeExtentTree || in.n_inline_extents || in.tree_root) bad("with both an inline target and extents");
    if (in.size == 0 || in.size > kInlineDataSize) {
      bad(fmt::format("inline target length {} is out of range", in.size));
      return;
    }
    target = {reinterpret_cast<const char*>(in.inline_data.data()), in.size};
  } else {
    if (in.size <= kInlineDataSize || in.size > kSymlinkMax) {
      bad(fmt::format("target length {} is wrong for a target stored in a block", in.size));
      return;
    }
    auto e = std::find_if(ex.begin(), ex.end(), [](const Extent& x) { return x.logical == 0; });
    if (e == ex.end() || e->unwritten() || ex.size() != 1 ||
        check_extent(*e, sb_.data_start, sb_.block_count) < 0) {
      bad("target block is missing or mapped wrongly");
      return;
    }
    int r = dev_.read(e->physical * kBlockSize, buf.data(), kBlockSize);
    if (r < 0) {
      bad(fmt::format("target block {} cannot be read: {}", e->physical, std::strerror(-r)));
      return;
    }
    target = {buf.data(), in.size};
  }
  if (target.find('\0') != std::string_view::npos) bad("target contains a NUL byte");
}

std::string Checker::read_xattr_chain(uint64_t ino, uint64_t first, std::string* blob,
                                      std::vector<uint64_t>* blocks) {
  mem::AlignedBuffer buf(kBlockSize);
  uint64_t blk = first;
  for (uint32_t seq = 0; blk; ++seq) {
    if (seq >= kMaxXattrChain) return "xattr chain is longer than the largest attribute set";
    if (blk < sb_.data_start || blk >= sb_.backup_block())
      return fmt::format("xattr block {} (#{}) lies outside the data area", blk, seq);
    int r = dev_.read(blk * kBlockSize, buf.data(), kBlockSize);
    XattrBlockHeader h;
    if (r < 0 || check_xattr_block(buf.data(), ino, seq, &h) < 0)
      return fmt::format("xattr block {} (#{}): bad magic, checksum, owner, sequence or length", blk, seq);
    blob->append(buf.data() + xb_off::kPayload, h.len);
    if (blocks) blocks->push_back(blk);
    blk = h.next;
  }
  return "";
}

void Checker::check_xattrs(uint64_t ino, const DiskInode& in, InodeInfo& info) {
  bool wrong = false;
  auto bad = [&](std::string_view what) {
    problem(fmt::format("inode {}: {}", ino, what));
    wrong = true;
  };
  std::string blob;
  if (in.xattr_block == 0) {
    blob.assign(reinterpret_cast<const char*>(in.inline_xattr.data()), in.xattr_inline_len);
  } else {
    if (in.xattr_inline_len != 0) bad("has both inline xattrs and an xattr chain");
    std::vector<uint64_t> chain;
    std::string why = read_xattr_chain(ino, in.xattr_block, &blob, &chain);
    if (!why.empty()) {
      // Repair drops the attributes: the chain's blocks past the bad one are unknown.
      bad(why);
      info.damaged = damaged_ = true;
      info.fix_xattrs = true;
      xattrs_[ino].clear();
      return;
    }
    // The chain's blocks, once it read whole (check_xattr_block ties each to this inode).
    for (uint64_t blk : chain) {
      claim(blk, 1, ino, ClaimKind::kXattr);
      ++info.blocks_found;
      ++res_.stats.xattr_blocks;
    }
    if (blob.size() <= kInlineXattrSize) bad(fmt::format("xattr chain holds only {} bytes", blob.size()));
  }
  if (blob.size() > kXattrBlobMax) bad(fmt::format("xattrs take {} bytes, more than {}", blob.size(), kXattrBlobMax));
  XattrMap m;
  if (decode_xattrs(blob, &m) < 0) {
    bad("xattr records do not decode");
    info.fix_xattrs = true;
    xattrs_[ino].clear();
    return;
  }
  // Canonical form: sorted by full name, each name once, so re-encoding gives the same bytes.
  if (encode_xattrs(m) != blob) bad("xattr records are not sorted or repeat a name");
  for (auto it = m.begin(); it != m.end();) {
    if (it->second.size() > kXattrValueMax) {
      bad(fmt::format("xattr {} is {} bytes long", it->first, it->second.size()));
      it = m.erase(it);  // repair drops it
    } else {
      ++it;
    }
  }
  if (wrong) {
    // Repair writes the attributes back in canonical form (inline when they fit).
    info.fix_xattrs = true;
    std::string canon = encode_xattrs(m);
    if (canon.size() > kXattrBlobMax) canon.clear();
    xattrs_[ino] = std::move(canon);
  }
}

}  // namespace chainfs::fsck
