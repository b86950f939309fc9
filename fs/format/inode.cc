#include "fs/format/inode.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "fs/format/crc32c.h"
#include "fs/format/endian.h"

namespace chainfs::format {

namespace {
uint32_t inode_crc(uint64_t ino, const void* slot) {
  uint8_t n[8];
  store_le64(n, ino);
  return crc32c::extend(crc32c::block(slot, kInodeSize, ino_off::kCrc), n, 8);
}
}  // namespace

void encode_inode(uint64_t ino, const DiskInode& in, void* slot) {
  using namespace ino_off;
  auto* p = static_cast<char*>(slot);
  std::memset(p, 0, kInodeSize);
  store_le16(p + kMagic, kInodeMagic);
  store_le32(p + kMode, in.mode);
  store_le32(p + kUid, in.uid);
  store_le32(p + kGid, in.gid);
  store_le32(p + kNlink, in.nlink);
  store_le64(p + kSize, in.size);
  store_le64(p + kBlocks, in.blocks);
  store_le64(p + kAtime, static_cast<uint64_t>(in.atime.sec));
  store_le64(p + kMtime, static_cast<uint64_t>(in.mtime.sec));
  store_le64(p + kCtime, static_cast<uint64_t>(in.ctime.sec));
  store_le64(p + kBtime, static_cast<uint64_t>(in.btime.sec));
  store_le32(p + kAtimeNs, in.atime.nsec);
  store_le32(p + kMtimeNs, in.mtime.nsec);
  store_le32(p + kCtimeNs, in.ctime.nsec);
  store_le32(p + kBtimeNs, in.btime.nsec);
  store_le64(p + kRdev, in.rdev);
  store_le32(p + kFlags, in.flags);
  store_le16(p + kNInline, in.n_inline_extents);
  store_le16(p + kXattrInlineLen, in.xattr_inline_len);
  store_le64(p + kGeneration, in.generation);
  store_le64(p + kTreeRoot, in.tree_root);
  store_le64(p + kXattrBlock, in.xattr_block);
  store_le64(p + kOrphanNext, in.orphan_next);
  store_le64(p + kDirEntries, in.dir_entries);
  store_le64(p + kParent, in.parent);
  std::memcpy(p + kInlineData, in.inline_data.data(), kInlineDataSize);
  std::memcpy(p + kInlineXattr, in.inline_xattr.data(), kInlineXattrSize);
  store_le32(p + kCrc, inode_crc(ino, slot));
}

int decode_inode(uint64_t ino, const void* slot, DiskInode* out, std::string* why) {
  using namespace ino_off;
  auto* p = static_cast<const char*>(slot);
  if (load_le16(p + kMagic) != kInodeMagic) {
    *why = "bad inode magic";
    return -EUCLEAN;
  }
  if (load_le32(p + kCrc) != inode_crc(ino, slot)) {
    *why = "inode checksum mismatch";
    return -EUCLEAN;
  }
  DiskInode in;
  in.mode = load_le32(p + kMode);
  in.uid = load_le32(p + kUid);
  in.gid = load_le32(p + kGid);
  in.nlink = load_le32(p + kNlink);
  in.size = load_le64(p + kSize);
  in.blocks = load_le64(p + kBlocks);
  in.atime = {static_cast<int64_t>(load_le64(p + kAtime)), load_le32(p + kAtimeNs)};
  in.mtime = {static_cast<int64_t>(load_le64(p + kMtime)), load_le32(p + kMtimeNs)};
  in.ctime = {static_cast<int64_t>(load_le64(p + kCtime)), load_le32(p + kCtimeNs)};
  in.btime = {static_cast<int64_t>(load_le64(p + kBtime)), load_le32(p + kBtimeNs)};
  in.rdev = load_le64(p + kRdev);
  in.flags = load_le32(p + kFlags);
  in.n_inline_extents = load_le16(p + kNInline);
  in.xattr_inline_len = load_le16(p + kXattrInlineLen);
  in.generation = load_le64(p + kGeneration);
  in.tree_root = load_le64(p + kTreeRoot);
  in.xattr_block = load_le64(p + kXattrBlock);
  in.orphan_next = load_le64(p + kOrphanNext);
  in.dir_entries = load_le64(p + kDirEntries);
  in.parent = load_le64(p + kParent);
  std::memcpy(in.inline_data.data(), p + kInlineData, kInlineDataSize);
  std::memcpy(in.inline_xattr.data(), p + kInlineXattr, kInlineXattrSize);
  uint32_t type = in.mode & S_IFMT;
  if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK && type != S_IFCHR && type != S_IFBLK &&
      type != S_IFIFO && type != S_IFSOCK) {
    *why = fmt::format("bad inode type {:o}", in.mode);
    return -EUCLEAN;
  }
  if (in.flags & ~kInodeFlagsKnown) {
    *why = "unknown inode flags";
    return -EUCLEAN;
  }
  if (in.n_inline_extents > kInlineExtents || in.xattr_inline_len > kInlineXattrSize ||
      ((in.flags & kInodeExtentTree) && in.n_inline_extents != 0)) {
    *why = "inline counts out of range";
    return -EUCLEAN;
  }
  if (in.size > kMaxFileSize || ((in.flags & kInodeInlineData) && in.size > kInlineDataSize)) {
    *why = "inode size out of range";
    return -EUCLEAN;
  }
  if (in.atime.nsec >= 1000000000u || in.mtime.nsec >= 1000000000u || in.ctime.nsec >= 1000000000u ||
      in.btime.nsec >= 1000000000u) {
    *why = "bad timestamp nanoseconds";
    return -EUCLEAN;
  }
  *out = in;
  return 0;
}

}  // namespace chainfs::format
