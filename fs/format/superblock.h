#pragma once
// Superblock: block 0 and a backup copy in the filesystem's last block. Pure
// encode/decode/validate; no I/O.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fs/format/layout.h"

namespace chainfs::format {

struct Superblock {
  uint32_t version = kFormatVersion;
  uint32_t block_size = kBlockSize;
  uint64_t compat = 0, incompat = 0, ro_compat = 0;
  std::array<uint8_t, 16> uuid{};
  std::string label;  // at most kLabelMax bytes
  uint64_t block_count = 0;
  uint64_t inode_count = 0;
  uint64_t block_bitmap_start = 0, block_bitmap_blocks = 0;
  uint64_t inode_bitmap_start = 0, inode_bitmap_blocks = 0;
  uint64_t inode_table_start = 0, inode_table_blocks = 0;
  uint64_t journal_start = 0, journal_blocks = 0;
  uint64_t data_start = 0;
  uint64_t free_blocks = 0, free_inodes = 0;
  uint64_t root_ino = kRootIno;
  uint32_t state = kStateClean;
  uint32_t mount_count = 0;
  int64_t mkfs_time = 0, last_mount_time = 0, last_write_time = 0;
  uint64_t orphan_head = 0;       // first inode of the orphan list, 0 = empty
  uint64_t next_generation = 1;   // generation given to the next allocated inode
  uint64_t reserved_blocks = 0;   // kept free for metadata: only deletes may use them

  uint64_t backup_block() const { return block_count - 1; }
};

inline constexpr size_t kLabelMax = 64;

// Field offsets (FORMAT.md "Superblock").
namespace sb_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kVersion = 8, kBlockSizeF = 12, kCompat = 16,
                        kIncompat = 24, kRoCompat = 32, kUuid = 40, kLabel = 56, kBlockCount = 120,
                        kInodeCount = 128, kBbStart = 136, kBbBlocks = 144, kIbStart = 152,
                        kIbBlocks = 160, kItStart = 168, kItBlocks = 176, kJStart = 184,
                        kJBlocks = 192, kDataStart = 200, kFreeBlocks = 208, kFreeInodes = 216,
                        kRootInoF = 224, kState = 232, kMountCount = 236, kMkfsTime = 240,
                        kMountTime = 248, kWriteTime = 256, kOrphanHead = 264, kNextGen = 272,
                        kReserved = 280, kEnd = 288;
}
static_assert(sb_off::kLabel + kLabelMax == sb_off::kBlockCount);
static_assert(sb_off::kEnd <= kBlockSize);

// Writes sb into a kBlockSize buffer (rest zeroed) with its crc.
void encode_superblock(const Superblock& sb, void* block);
// Decodes and checks magic, crc and every field against a device of device_blocks
// blocks. Returns 0, or -EUCLEAN (-EINVAL for a block that is not chainfs at all) with
// *why set to one line.
int decode_superblock(const void* block, uint64_t device_blocks, Superblock* sb, std::string* why);
// Structural checks only (used by decode and by mkfs before writing).
int validate_superblock(const Superblock& sb, uint64_t device_blocks, std::string* why);

// The region layout mkfs chooses for a device of `blocks` blocks and `inodes` inodes
// (0 = default ratio). Fills the region fields and counts of sb; -ENOSPC with *why when
// the device is too small, -EINVAL for an inode count validate_superblock() would refuse.
int plan_layout(uint64_t blocks, uint64_t inodes, Superblock* sb, std::string* why);

}  // namespace chainfs::format
