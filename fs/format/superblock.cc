#include "fs/format/superblock.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/format/crc32c.h"
#include "fs/format/endian.h"

namespace chainfs::format {

namespace {
uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
char* at(void* b, size_t off) { return static_cast<char*>(b) + off; }
const char* at(const void* b, size_t off) { return static_cast<const char*>(b) + off; }
}  // namespace

void encode_superblock(const Superblock& sb, void* block) {
  using namespace sb_off;
  std::memset(block, 0, kBlockSize);
  store_le32(at(block, kMagic), kSuperMagic);
  store_le32(at(block, kVersion), sb.version);
  store_le32(at(block, kBlockSizeF), sb.block_size);
  store_le64(at(block, kCompat), sb.compat);
  store_le64(at(block, kIncompat), sb.incompat);
  store_le64(at(block, kRoCompat), sb.ro_compat);
  std::memcpy(at(block, kUuid), sb.uuid.data(), 16);
  std::memcpy(at(block, kLabel), sb.label.data(), std::min(sb.label.size(), kLabelMax));
  store_le64(at(block, kBlockCount), sb.block_count);
  store_le64(at(block, kInodeCount), sb.inode_count);
  store_le64(at(block, kBbStart), sb.block_bitmap_start);
  store_le64(at(block, kBbBlocks), sb.block_bitmap_blocks);
  store_le64(at(block, kIbStart), sb.inode_bitmap_start);
  store_le64(at(block, kIbBlocks), sb.inode_bitmap_blocks);
  store_le64(at(block, kItStart), sb.inode_table_start);
  store_le64(at(block, kItBlocks), sb.inode_table_blocks);
  store_le64(at(block, kJStart), sb.journal_start);
  store_le64(at(block, kJBlocks), sb.journal_blocks);
  store_le64(at(block, kDataStart), sb.data_start);
  store_le64(at(block, kFreeBlocks), sb.free_blocks);
  store_le64(at(block, kFreeInodes), sb.free_inodes);
  store_le64(at(block, kRootInoF), sb.root_ino);
  store_le32(at(block, kState), sb.state);
  store_le32(at(block, kMountCount), sb.mount_count);
  store_le64(at(block, kMkfsTime), static_cast<uint64_t>(sb.mkfs_time));
  store_le64(at(block, kMountTime), static_cast<uint64_t>(sb.last_mount_time));
  store_le64(at(block, kWriteTime), static_cast<uint64_t>(sb.last_write_time));
  store_le64(at(block, kOrphanHead), sb.orphan_head);
  store_le64(at(block, kNextGen), sb.next_generation);
  store_le64(at(block, kReserved), sb.reserved_blocks);
  store_le32(at(block, kCrc), crc32c::block(block, kBlockSize, kCrc));
}

int decode_superblock(const void* block, uint64_t device_blocks, Superblock* sb, std::string* why) {
  using namespace sb_off;
  if (load_le32(at(block, kMagic)) != kSuperMagic) {
    *why = "bad magic: not a chainfs filesystem";
    return -EINVAL;
  }
  uint32_t crc = load_le32(at(block, kCrc));
  uint32_t want = crc32c::block(block, kBlockSize, kCrc);
  if (crc != want) {
    *why = fmt::format("superblock checksum mismatch (stored {:08x}, computed {:08x})", crc, want);
    return -EUCLEAN;
  }
  Superblock s;
  s.version = load_le32(at(block, kVersion));
  s.block_size = load_le32(at(block, kBlockSizeF));
  s.compat = load_le64(at(block, kCompat));
  s.incompat = load_le64(at(block, kIncompat));
  s.ro_compat = load_le64(at(block, kRoCompat));
  std::memcpy(s.uuid.data(), at(block, kUuid), 16);
  const char* lab = at(block, kLabel);
  s.label.assign(lab, strnlen(lab, kLabelMax));
  s.block_count = load_le64(at(block, kBlockCount));
  s.inode_count = load_le64(at(block, kInodeCount));
  s.block_bitmap_start = load_le64(at(block, kBbStart));
  s.block_bitmap_blocks = load_le64(at(block, kBbBlocks));
  s.inode_bitmap_start = load_le64(at(block, kIbStart));
  s.inode_bitmap_blocks = load_le64(at(block, kIbBlocks));
  s.inode_table_start = load_le64(at(block, kItStart));
  s.inode_table_blocks = load_le64(at(block, kItBlocks));
  s.journal_start = load_le64(at(block, kJStart));
  s.journal_blocks = load_le64(at(block, kJBlocks));
  s.data_start = load_le64(at(block, kDataStart));
  s.free_blocks = load_le64(at(block, kFreeBlocks));
  s.free_inodes = load_le64(at(block, kFreeInodes));
  s.root_ino = load_le64(at(block, kRootInoF));
  s.state = load_le32(at(block, kState));
  s.mount_count = load_le32(at(block, kMountCount));
  s.mkfs_time = static_cast<int64_t>(load_le64(at(block, kMkfsTime)));
  s.last_mount_time = static_cast<int64_t>(load_le64(at(block, kMountTime)));
  s.last_write_time = static_cast<int64_t>(load_le64(at(block, kWriteTime)));
  s.orphan_head = load_le64(at(block, kOrphanHead));
  s.next_generation = load_le64(at(block, kNextGen));
  s.reserved_blocks = load_le64(at(block, kReserved));
  int r = validate_superblock(s, device_blocks, why);
  if (r < 0) return r;
  *sb = std::move(s);
  return 0;
}

int validate_superblock(const Superblock& s, uint64_t device_blocks, std::string* why) {
  auto bad = [&](std::string m) {
    *why = std::move(m);
    return -EUCLEAN;
  };
  if (s.version != kFormatVersion) return bad(fmt::format("unsupported format version {}", s.version));
  if (s.block_size != kBlockSize) return bad(fmt::format("unsupported block size {}", s.block_size));
  if (s.incompat & ~kIncompatKnown)
    return bad(fmt::format("unknown incompatible features {:#x}", s.incompat & ~kIncompatKnown));
  if (s.block_count < kMinBlocks || s.block_count > (1ull << 48))
    return bad(fmt::format("absurd block count {}", s.block_count));
  if (s.block_count > device_blocks)
    return bad(fmt::format("filesystem has {} blocks but the device only {} (truncated device?)",
                           s.block_count, device_blocks));
  if (s.inode_count < 16 || s.inode_count > s.block_count * 4)
    return bad(fmt::format("absurd inode count {}", s.inode_count));
  if (s.block_bitmap_blocks != div_up(s.block_count, kBitsPerBitmapBlock) ||
      s.inode_bitmap_blocks != div_up(s.inode_count, kBitsPerBitmapBlock) ||
      s.inode_table_blocks != div_up(s.inode_count, kInodesPerBlock))
    return bad("region sizes do not match the block and inode counts");
  // Regions follow each other in this order, without overlap, before the backup block.
  const uint64_t starts[] = {s.block_bitmap_start, s.inode_bitmap_start, s.inode_table_start,
                             s.journal_start, s.data_start};
  const uint64_t sizes[] = {s.block_bitmap_blocks, s.inode_bitmap_blocks, s.inode_table_blocks,
                            s.journal_blocks, 0};
  uint64_t next = 1;
  for (int i = 0; i < 5; ++i) {
    if (starts[i] < next || starts[i] > s.block_count || sizes[i] > s.block_count - starts[i])
      return bad("metadata regions overlap or lie outside the device");
    next = starts[i] + sizes[i];
  }
  if (s.data_start >= s.block_count - 1) return bad("no data area");
  if (s.free_blocks > s.block_count || s.free_inodes > s.inode_count)
    return bad("free counts larger than the totals");
  if (s.root_ino != kRootIno) return bad(fmt::format("bad root inode {}", s.root_ino));
  if (s.state != kStateClean && s.state != kStateMounted) return bad(fmt::format("bad state {}", s.state));
  if (s.orphan_head > s.inode_count) return bad("orphan list head out of range");
  if (s.reserved_blocks > s.block_count / 2) return bad("absurd reserved block count");
  return 0;
}

int plan_layout(uint64_t blocks, uint64_t inodes, Superblock* sb, std::string* why) {
  if (blocks < kMinBlocks) {
    *why = fmt::format("device too small: {} blocks of 4 KiB, at least {} ({} MiB) needed", blocks,
                       kMinBlocks, kMinBlocks * kBlockSize >> 20);
    return -ENOSPC;
  }
  blocks = std::min<uint64_t>(blocks, 1ull << 48);
  if (inodes == 0) {
    // One per 16 KiB, but up to 131072 (one per 8 KiB) on small devices so that 100,000
    // files fit on a 1 GiB image.
    inodes = blocks / 4;
    if (inodes < 131072) inodes = std::min<uint64_t>(131072, blocks / 2);
    inodes = std::max<uint64_t>(inodes, 1024);
  }
  inodes = div_up(inodes, kInodesPerBlock) * kInodesPerBlock;
  // The bounds validate_superblock() holds a mounted filesystem to.
  if (inodes < 16 || inodes > blocks * 4) {
    *why = fmt::format("{} inodes: a filesystem of {} blocks takes 16 to {}", inodes, blocks, blocks * 4);
    return -EINVAL;
  }
  uint64_t journal = std::clamp<uint64_t>(blocks / 256, 64, 32768);  // 0.4%, 256 KiB .. 128 MiB
  sb->block_count = blocks;
  sb->inode_count = inodes;
  sb->block_bitmap_start = 1;
  sb->block_bitmap_blocks = div_up(blocks, kBitsPerBitmapBlock);
  sb->inode_bitmap_start = sb->block_bitmap_start + sb->block_bitmap_blocks;
  sb->inode_bitmap_blocks = div_up(inodes, kBitsPerBitmapBlock);
  sb->inode_table_start = sb->inode_bitmap_start + sb->inode_bitmap_blocks;
  sb->inode_table_blocks = inodes / kInodesPerBlock;
  sb->journal_start = sb->inode_table_start + sb->inode_table_blocks;
  sb->journal_blocks = journal;
  sb->data_start = sb->journal_start + journal;
  if (sb->data_start + 64 > blocks) {
    *why = fmt::format("device too small for {} inodes: metadata needs {} of its {} blocks", inodes,
                       sb->data_start + 64, blocks);
    return -ENOSPC;
  }
  sb->compat = kCompatJournalReserved;
  sb->incompat = kIncompatExtentTree | kIncompatDirTree;
  sb->reserved_blocks = std::clamp<uint64_t>((blocks - sb->data_start) / 100, 16, 8192);
  sb->free_blocks = blocks - sb->data_start - 1;  // minus the backup superblock
  sb->free_inodes = inodes;
  return 0;
}

}  // namespace chainfs::format
