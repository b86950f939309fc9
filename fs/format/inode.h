#pragma once
// Inode record: 512 bytes, 8 per inode-table block, each with its own crc32c.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fs/format/extent.h"
#include "fs/format/layout.h"

namespace chainfs::format {

inline constexpr uint32_t kInlineExtents = 6;
inline constexpr size_t kInlineDataSize = kInlineExtents * kExtentSize;  // 144: extents or symlink
inline constexpr size_t kInlineXattrSize = 208;
// A symlink target: 1 to kSymlinkMax bytes, no NUL; inline up to kInlineDataSize, else
// in one data block.
inline constexpr size_t kSymlinkMax = 4095;

// Inode flags.
inline constexpr uint32_t kInodeExtentTree = 1u << 0;  // extents live in the tree at tree_root
inline constexpr uint32_t kInodeInlineData = 1u << 1;  // fast symlink: target in the inline area
inline constexpr uint32_t kInodeFlagsKnown = kInodeExtentTree | kInodeInlineData;

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  bool operator==(const Timespec&) const = default;
};

struct DiskInode {
  uint32_t mode = 0;  // st_mode: type and permissions; 0 = free
  uint32_t uid = 0, gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 4 KiB blocks owned: data, extent-tree nodes, xattr blocks
  Timespec atime, mtime, ctime, btime;
  uint64_t rdev = 0;
  uint32_t flags = 0;
  uint16_t n_inline_extents = 0;
  uint16_t xattr_inline_len = 0;
  uint64_t generation = 0;
  uint64_t tree_root = 0;    // directory B+tree, or extent B+tree when kInodeExtentTree
  uint64_t xattr_block = 0;  // first block of the xattr chain, 0 = none
  uint64_t orphan_next = 0;  // next inode on the orphan list
  uint64_t dir_entries = 0;  // directories: entries besides . and ..
  uint64_t parent = 0;       // directories: the parent directory (for ..)
  std::array<uint8_t, kInlineDataSize> inline_data{};
  std::array<uint8_t, kInlineXattrSize> inline_xattr{};
  bool operator==(const DiskInode&) const = default;
};

namespace ino_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kMode = 8, kUid = 12, kGid = 16, kNlink = 20,
                        kSize = 24, kBlocks = 32, kAtime = 40, kMtime = 48, kCtime = 56,
                        kBtime = 64, kAtimeNs = 72, kMtimeNs = 76, kCtimeNs = 80, kBtimeNs = 84,
                        kRdev = 88, kFlags = 96, kNInline = 100, kXattrInlineLen = 102,
                        kGeneration = 104, kTreeRoot = 112, kXattrBlock = 120, kOrphanNext = 128,
                        kDirEntries = 136, kParent = 144, kInlineData = 160,
                        kInlineXattr = 304, kEnd = 512;
}
static_assert(ino_off::kInlineData + kInlineDataSize == ino_off::kInlineXattr);
static_assert(ino_off::kInlineXattr + kInlineXattrSize == ino_off::kEnd);
static_assert(ino_off::kEnd == kInodeSize);

// Encodes into a kInodeSize slot (with crc; the inode number is mixed into the crc so
// a record copied to another slot is detected).
void encode_inode(uint64_t ino, const DiskInode& in, void* slot);
// Decodes a slot: 0, or -EUCLEAN with *why (bad magic/crc, impossible counts, ...).
int decode_inode(uint64_t ino, const void* slot, DiskInode* out, std::string* why);

}  // namespace chainfs::format
