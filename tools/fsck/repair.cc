// Repair (fsck -y / -p): only what is provably safe once the whole check has run.
//  - block bitmap: bits of owned blocks set (always safe: the worst case is a leak); bits of
//    blocks nobody owns cleared, bad bitmap blocks rebuilt and tail bits set, but only when
//    every tree and chain was walked (otherwise an unknown owner could lose its blocks);
//  - free counts recomputed from the bitmaps;
//  - both superblocks rewritten (a bad primary from the backup, a stale backup from the
//    primary), marked clean when nothing is left unfixed.
// Inode records, directories and link counts are never changed.
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
  bool want_set = false, want_exact = false, want_counts = false, want_sb = false;
  for (auto [idx, fix] : fixable_) {
    switch (fix) {
      case Fix::kBitmapSet: want_set = true; break;
      case Fix::kBitmapClear:
      case Fix::kBitmapBlock:
      case Fix::kBitmapTail: want_exact = want_exact || !damaged_; break;
      case Fix::kFreeCounts: want_counts = true; break;
      case Fix::kSuperblock: want_sb = true; break;
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
  const bool counts_changed = out.free_blocks != sb_.free_blocks || out.free_inodes != sb_.free_inodes;
  size_t left = 0;
  for (size_t i = 0; i < fixed.size(); ++i)
    if (!fixed[i] && !(res_.problems[i].fixed)) {
      bool will = false;
      for (auto [idx, fix] : fixable_)
        if (idx == i && (fix == Fix::kSuperblock || (fix == Fix::kFreeCounts && bb_all && ib_all))) will = true;
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

}  // namespace chainfs::fsck
