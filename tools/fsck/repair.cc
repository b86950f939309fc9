// Repair (fsck -y / -p): only what is provably safe once the whole check has run.
//  - block bitmap: bits of owned blocks set (always safe: the worst case is a leak); bits of
//    blocks nobody owns cleared, bad bitmap blocks rebuilt and tail bits set, but only when
//    every tree and chain was walked (otherwise an unknown owner could lose its blocks);
//  - free counts recomputed from the bitmaps;
//  - the orphan list rebuilt as exactly the inodes with link count 0 that no entry points
//    to (mount frees the list: a linked inode on it would lose its data);
//  - both superblocks rewritten (a bad primary from the backup, a stale backup from the
//    primary), marked clean when nothing is left unfixed.
// Otherwise inode records (but their orphan link), directories and link counts are never changed.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "fs/format/bitmap.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"
#include "tools/fsck/checker.h"

namespace chainfs::fsck {

using namespace format;

namespace {
constexpr size_t kBitmapBytes = kBlockSize - kBitmapHeader;
}

void Checker::repair() {
  std::vector<bool> fixed(res_.problems.size(), false);
  bool want_set = false, want_exact = false, want_counts = false, want_sb = false, want_orphans = false;
  for (auto [idx, fix] : fixable_) {
    switch (fix) {
      case Fix::kBitmapSet: want_set = true; break;
      case Fix::kBitmapClear:
      case Fix::kBitmapBlock:
      case Fix::kBitmapTail: want_exact = want_exact || !damaged_; break;
      case Fix::kFreeCounts: want_counts = true; break;
      case Fix::kSuperblock: want_sb = true; break;
      case Fix::kOrphans: want_orphans = true; break;
      case Fix::kNone: break;
    }
  }
  int err = 0;
  const uint64_t nbm = sb_.block_bitmap_blocks;
  if (want_set || want_exact) {
    mem::AlignedBuffer blk(kBlockSize);
    for (uint64_t i = 0; i < nbm && err == 0; ++i) {
      if (!bb_ok_[i] && !want_exact) continue;  // nothing known to build it from
      uint8_t* bits = bitmap_bits(blk.data());
      std::memset(blk.data(), 0, kBlockSize);
      const uint64_t base = i * kBitsPerBitmapBlock;
      for (uint64_t j = 0; j < kBitsPerBitmapBlock; ++j) {
        const uint64_t b = base + j;
        bool on = b >= sb_.block_count || used_.test(b) || (!want_exact && (bbits_[b / 8] >> (b % 8) & 1));
        if (on) bits[j / 8] = static_cast<uint8_t>(bits[j / 8] | (1u << (j % 8)));
      }
      if (bb_ok_[i] && std::memcmp(bits, bbits_.data() + i * kBitmapBytes, kBitmapBytes) == 0) continue;
      std::memcpy(bbits_.data() + i * kBitmapBytes, bits, kBitmapBytes);
      bb_ok_[i] = true;
      seal_bitmap_block(blk.data(), BitmapKind::kBlocks, static_cast<uint32_t>(i));
      err = dev_.write((sb_.block_bitmap_start + i) * kBlockSize, blk.data(), kBlockSize);
    }
    if (err == 0) {
      for (auto [idx, fix] : fixable_)
        if (fix == Fix::kBitmapSet || (want_exact && (fix == Fix::kBitmapClear || fix == Fix::kBitmapBlock ||
                                                      fix == Fix::kBitmapTail)))
          fixed[idx] = true;
    }
  }
  // Free counts from the bitmaps as they are now (the superblock write below carries them).
  const bool bb_all = std::all_of(bb_ok_.begin(), bb_ok_.end(), [](bool x) { return x; });
  const bool ib_all = std::all_of(ib_ok_.begin(), ib_ok_.end(), [](bool x) { return x; });
  Superblock out = sb_;
  if (bb_all) {
    uint64_t used = 0;
    for (uint64_t b = 0; b < sb_.block_count; ++b) used += bbits_[b / 8] >> (b % 8) & 1;
    out.free_blocks = sb_.block_count - used;
  }
  if (ib_all) out.free_inodes = sb_.inode_count - res_.stats.inodes_used;
  if (want_orphans && err == 0) {
    err = rebuild_orphans(&out);
    if (err == 0)
      for (auto [idx, fix] : fixable_)
        if (fix == Fix::kOrphans) fixed[idx] = true;
  }
  const bool counts_changed = out.free_blocks != sb_.free_blocks || out.free_inodes != sb_.free_inodes ||
                              out.orphan_head != sb_.orphan_head;
  size_t left = 0;
  for (size_t i = 0; i < fixed.size(); ++i)
    if (!fixed[i] && !(res_.problems[i].fixed)) {
      bool will = false;
      for (auto [idx, fix] : fixable_)
        if (idx == i && (fix == Fix::kSuperblock || fix == Fix::kOrphans ||
                         (fix == Fix::kFreeCounts && bb_all && ib_all)))
          will = true;
      if (!will) ++left;
    }
  const bool mark_clean = res_.stats.was_unclean && left == 0;
  if (err == 0 && (want_sb || counts_changed || want_counts || mark_clean)) {
    if (left == 0) out.state = kStateClean;
    mem::AlignedBuffer blk(kBlockSize);
    encode_superblock(out, blk.data());
    err = dev_.write(sb_.backup_block() * kBlockSize, blk.data(), kBlockSize);
    if (err == 0) err = dev_.write(0, blk.data(), kBlockSize);
    if (err == 0) {
      for (auto [idx, fix] : fixable_)
        if (fix == Fix::kSuperblock || (fix == Fix::kFreeCounts && bb_all && ib_all)) fixed[idx] = true;
      if (mark_clean) {
        res_.problems.push_back(Problem{"superblock: not cleanly unmounted; marked clean", true});
        fixed.push_back(true);
      }
      sb_ = out;
    }
  }
  if (err == 0) err = dev_.flush();
  if (err < 0) {
    res_.status = err;
    res_.error = fmt::format("cannot write the repairs: {}", std::strerror(-err));
    return;
  }
  for (size_t i = 0; i < fixed.size(); ++i)
    if (fixed[i]) res_.problems[i].fixed = true;
}

int Checker::rebuild_orphans(Superblock* out) {
  std::vector<uint64_t> list;
  for (uint64_t ino : order_) {
    const InodeInfo& i = inodes_[ino];
    if (i.valid && i.nlink == 0 && i.links_found == 0 && ino != kRootIno) list.push_back(ino);
  }
  // Every inode whose orphan link changes: the new list's members, and anyone with a stale link.
  std::vector<std::pair<uint64_t, uint64_t>> links;  // (inode, next)
  for (size_t k = 0, j = 0; k < order_.size(); ++k) {
    const uint64_t ino = order_[k];
    const bool member = j < list.size() && list[j] == ino;
    const uint64_t next = member ? (j + 1 < list.size() ? list[j + 1] : 0) : 0;
    if (member) ++j;
    const InodeInfo& i = inodes_[ino];
    if (i.valid && (member || i.orphan_next != 0) && i.orphan_next != next) links.emplace_back(ino, next);
  }
  mem::AlignedBuffer blk(kBlockSize);
  for (auto [ino, next] : links) {
    const uint64_t at = sb_.inode_table_start + (ino - 1) / kInodesPerBlock;
    char* slot = blk.data() + (ino - 1) % kInodesPerBlock * kInodeSize;
    int r = dev_.read(at * kBlockSize, blk.data(), kBlockSize);
    if (r < 0) return r;
    DiskInode in;
    std::string why;
    if (decode_inode(ino, slot, &in, &why) < 0) return -EIO;  // it decoded during the check
    in.orphan_next = next;
    encode_inode(ino, in, slot);
    if ((r = dev_.write(at * kBlockSize, blk.data(), kBlockSize)) < 0) return r;
  }
  out->orphan_head = list.empty() ? 0 : list.front();
  return 0;
}

}  // namespace chainfs::fsck
