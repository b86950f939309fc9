#include "fs/meta/mkfs.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "fs/format/bitmap.h"
#include "fs/format/inode.h"
#include "fs/format/superblock.h"
#include "fs/meta/journal.h"
#include "fs/meta/time_util.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fs {

using namespace format;

namespace {
constexpr uint64_t kBatch = 256;  // blocks per write (1 MiB)

void set_bits(uint8_t* bits, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
}

// Bitmap block `index` whose items [0, used_below) and [used_from, inf) are in use.
void bitmap_block(char* block, BitmapKind kind, uint32_t index, uint64_t used_below, uint64_t used_from,
                  uint64_t extra_used) {
  std::memset(block, 0, kBlockSize);
  uint8_t* bits = bitmap_bits(block);
  uint64_t base = uint64_t{index} * kBitsPerBitmapBlock, end = base + kBitsPerBitmapBlock;
  if (used_below > base) set_bits(bits, 0, std::min(used_below, end) - base);
  if (used_from < end) set_bits(bits, std::max(used_from, base) - base, kBitsPerBitmapBlock);
  if (extra_used >= base && extra_used < end) set_bits(bits, extra_used - base, extra_used - base + 1);
  seal_bitmap_block(block, kind, index);
}
}  // namespace

int make_filesystem(io::Device& dev, const MkfsOptions& opts, std::string* msg) {
  std::string scratch;
  if (!msg) msg = &scratch;
  if (opts.label.size() > kLabelMax) {
    *msg = fmt::format("label longer than {} bytes", kLabelMax);
    return -EINVAL;
  }
  Superblock sb;
  int r = plan_layout(dev.size_bytes() / kBlockSize, opts.inodes, &sb, msg);
  if (r < 0) return r;
  sb.label = opts.label;
  std::random_device rd;
  for (auto& b : sb.uuid) b = static_cast<uint8_t>(rd());
  sb.uuid[6] = static_cast<uint8_t>((sb.uuid[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  sb.uuid[8] = static_cast<uint8_t>((sb.uuid[8] & 0x3f) | 0x80);
  auto now = now_ts();
  sb.mkfs_time = sb.last_write_time = now.sec;
  sb.state = kStateClean;
  sb.free_inodes -= 1;  // the root
  sb.next_generation = 2;

  uint64_t total = sb.block_bitmap_blocks + sb.inode_bitmap_blocks + 2;
  uint64_t done = 0;
  auto tick = [&](uint64_t n) {
    done += n;
    if (opts.progress) opts.progress(done, total);
  };
  auto fail = [&](int err, const char* what) {
    *msg = fmt::format("cannot write the {}: {}", what, std::strerror(-err));
    return err;
  };

  mem::AlignedBuffer buf(kBatch * kBlockSize);
  for (uint64_t i = 0; i < sb.block_bitmap_blocks; ++i) {
    bitmap_block(buf.data(), BitmapKind::kBlocks, static_cast<uint32_t>(i), sb.data_start,
                 sb.block_count, sb.backup_block());
    if ((r = dev.write((sb.block_bitmap_start + i) * kBlockSize, buf.data(), kBlockSize)) < 0)
      return fail(r, "block bitmap");
    tick(1);
  }
  for (uint64_t i = 0; i < sb.inode_bitmap_blocks; ++i) {
    bitmap_block(buf.data(), BitmapKind::kInodes, static_cast<uint32_t>(i), 1, sb.inode_count, ~0ull);
    if ((r = dev.write((sb.inode_bitmap_start + i) * kBlockSize, buf.data(), kBlockSize)) < 0)
      return fail(r, "inode bitmap");
    tick(1);
  }
  // The inode table is not zeroed: a record is read only when its inode-bitmap bit is
  // set, and every allocation writes the whole record. This keeps mkfs of a large device
  // fast (a 1 TiB device has a 32 GiB table).
  DiskInode root;
  root.mode = S_IFDIR | 0755;
  root.uid = opts.root_uid;
  root.gid = opts.root_gid;
  root.nlink = 2;
  root.atime = root.mtime = root.ctime = root.btime = now;
  root.generation = 1;
  root.parent = kRootIno;
  std::memset(buf.data(), 0, kBlockSize);
  encode_inode(kRootIno, root, buf.data());
  if ((r = dev.write(sb.inode_table_start * kBlockSize, buf.data(), kBlockSize)) < 0)
    return fail(r, "root inode");
  tick(1);
  if ((r = Journal(dev, sb.journal_start, sb.journal_blocks, sb.uuid).create()) < 0) return fail(r, "journal");
  sb.compat |= kCompatJournal;
  // The superblocks last, so an interrupted mkfs leaves no valid-looking filesystem.
  if ((r = dev.flush()) < 0) return fail(r, "device cache");
  encode_superblock(sb, buf.data());
  if ((r = dev.write(sb.backup_block() * kBlockSize, buf.data(), kBlockSize)) < 0)
    return fail(r, "backup superblock");
  if ((r = dev.write(0, buf.data(), kBlockSize)) < 0) return fail(r, "superblock");
  if ((r = dev.flush()) < 0) return fail(r, "device cache");
  tick(1);
  return 0;
}

}  // namespace chainfs::fs
