// check_filesystem: the driver and the whole-device passes (superblocks, bitmaps, block
// ownership, free counts, repair). The per-inode and per-directory passes are in
// check_inodes.cc and check_dirs.cc.
#include "tools/fsck/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_map>

#include "fs/format/bitmap.h"
#include "fs/format/endian.h"
#include "base/result.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/replay.h"

namespace chainfs::fsck {

using namespace format;

namespace {
constexpr uint64_t kChunkBlocks = 256;  // device reads of regions: 1 MiB at a time
constexpr size_t kMaxRunLines = 50;     // per kind of bitmap difference; the rest is counted
constexpr size_t kBitmapBytes = kBlockSize - kBitmapHeader;

std::string range_text(const char* one, const char* many, uint64_t a, uint64_t b) {
  return a == b ? fmt::format("{} {}", one, a) : fmt::format("{} {}-{}", many, a, b);
}

bool get_bit(const std::vector<uint8_t>& bits, uint64_t i) { return bits[i / 8] >> (i % 8) & 1; }

// Reads blocks [start, start+n) into out (resized), in chunks.
int read_region(io::Device& dev, uint64_t start, uint64_t n, std::vector<uint8_t>* out) {
  out->resize(n * kBlockSize);
  mem::AlignedBuffer buf(std::min(n, kChunkBlocks) * kBlockSize);
  for (uint64_t i = 0; i < n; i += kChunkBlocks) {
    uint64_t k = std::min(kChunkBlocks, n - i);
    int r = dev.read((start + i) * kBlockSize, buf.data(), k * kBlockSize);
    if (r < 0) return r;
    std::memcpy(out->data() + i * kBlockSize, buf.data(), k * kBlockSize);
  }
  return 0;
}
}  // namespace

uint64_t BitSet::count() const {
  uint64_t n = 0;
  for (uint64_t w : w_) n += static_cast<uint64_t>(std::popcount(w));
  return n;
}

bool BitSet::any() const {
  return std::any_of(w_.begin(), w_.end(), [](uint64_t w) { return w != 0; });
}

size_t CheckResult::unfixed() const {
  return static_cast<size_t>(std::count_if(problems.begin(), problems.end(), [](const Problem& p) { return !p.fixed; }));
}

int CheckResult::exit_code() const {
  if (status < 0) return 8;
  if (unfixed()) return 4;
  return problems.empty() ? 0 : 1;
}

namespace {
// Repair passes before giving up: each pass checks everything again and fixes what it
// found; the consequences of one pass's repairs (a block freed by a rebuilt tree, a link
// count changed by a removed entry) are the next pass's problems.
constexpr int kMaxPasses = 6;

// Adds the problems and repairs of every pass to res (which may hold the journal's lines).
void repair_filesystem(io::Device& dev, const CheckOptions& opts, CheckResult& res) {
  std::unordered_map<std::string, size_t> seen;  // problem text -> index in res.problems
  for (size_t i = 0; i < res.problems.size(); ++i) seen.emplace(res.problems[i].text, i);
  for (int pass = 0;; ++pass) {
    CheckResult r;
    CheckOptions o = opts;
    o.on_problem = nullptr;
    Checker c(dev, o, r);
    c.run();
    if (r.status < 0) {
      res.status = r.status;
      res.error = r.error;
      return;
    }
    if (pass == 0) res.stats.used_backup_superblock = r.stats.used_backup_superblock;
    const bool was_unclean = res.stats.was_unclean || r.stats.was_unclean;
    res.stats = r.stats;
    res.stats.was_unclean = was_unclean && pass == 0;
    // A problem is fixed unless the last pass still finds it.
    auto add = [&](Problem p, bool fixed) {
      auto [it, fresh] = seen.emplace(p.text, res.problems.size());
      if (fresh) {
        if (opts.on_problem) opts.on_problem(p.text);
        res.problems.push_back(Problem{std::move(p.text), fixed});
      } else {
        res.problems[it->second].fixed = fixed;
      }
    };
    for (Problem& p : r.problems) add(std::move(p), true);
    if (r.problems.empty()) break;
    int64_t wrote = 0;
    std::vector<Problem> extra;
    if (pass + 1 < kMaxPasses) wrote = c.repair(&extra);
    for (Problem& p : extra) {
      if (p.fixed) res.repairs.push_back(std::move(p.text));
      else add(std::move(p), false);
    }
    if (wrote < 0) {
      res.status = static_cast<int>(wrote);
      res.error = fmt::format("cannot write the repairs: {}", std::strerror(static_cast<int>(-wrote)));
      return;
    }
    if (wrote == 0) {  // nothing more can be done: what this pass found is left
      for (const Problem& p : r.problems) res.problems[seen[p.text]].fixed = false;
      break;
    }
  }
}
}  // namespace

CheckResult check_filesystem(io::Device& dev, const CheckOptions& opts) {
  CheckResult res;
  try {
    // The journal first: committed transactions are part of the filesystem (the next mount
    // replays them), so the check sees them replayed; a repair writes them home first.
    Replay replay;
    std::unique_ptr<io::Device> view;
    if (int r = replay_journal(dev, opts.repair, &replay, &view); r < 0) {
      res.status = r;
      res.error = fmt::format("cannot replay the journal: {}", std::strerror(-r));
      return res;
    }
    if (replay.transactions) {
      std::string line = fmt::format("journal: {} committed transactions ({} blocks) {}", replay.transactions,
                                     replay.blocks, opts.repair ? "replayed" : "replayed in memory for the check");
      if (opts.repair)
        res.problems.push_back(Problem{std::move(line), true});
      else
        res.notes.push_back(std::move(line));
    }
    if (replay.journal_bad) {
      std::string line = fmt::format("journal: {}{}", replay.why, replay.journal_reset ? "; made empty" : "");
      if (opts.on_problem) opts.on_problem(line);
      res.problems.push_back(Problem{std::move(line), replay.journal_reset});
    }
    if (opts.repair)
      repair_filesystem(dev, opts, res);
    else
      Checker(view ? *view : dev, opts, res).run();
  } catch (const std::bad_alloc&) {
    res.status = -ENOMEM;
    res.error = "out of memory";
  }
  return res;
}

void Checker::problem(std::string text) {
  if (opts_.on_problem) opts_.on_problem(text);
  res_.problems.push_back(Problem{std::move(text), false});
}

void Checker::expected_after_crash(std::string text) {
  if (res_.stats.was_unclean && !opts_.repair)
    res_.notes.push_back(std::move(text));
  else
    problem(std::move(text));
}

void Checker::progress(std::string_view phase, uint64_t done, uint64_t total) {
  if (opts_.progress) opts_.progress(phase, done, total);
}

void Checker::claim(uint64_t start, uint64_t len, uint64_t owner, ClaimKind kind) {
  claims_.push_back(Claim{start, len, owner, kind});
  for (uint64_t b = start; b < start + len; ++b)
    if (used_.test_set(b)) dup_.set(b);
}

std::string Checker::owner_name(const Claim& c) const {
  switch (c.kind) {
    case ClaimKind::kMetadata:
      if (c.start == 0 && c.len == 1) return "the superblock";
      if (c.start == sb_.backup_block()) return "the backup superblock";
      if (c.start == sb_.block_bitmap_start) return "the block bitmap";
      if (c.start == sb_.inode_bitmap_start) return "the inode bitmap";
      if (c.start == sb_.inode_table_start) return "the inode table";
      if (c.start == sb_.journal_start) return "the journal";
      return "the metadata area";
    case ClaimKind::kData: return fmt::format("inode {} (data)", c.owner);
    case ClaimKind::kExtentNode: return fmt::format("inode {} (extent tree node)", c.owner);
    case ClaimKind::kDirNode: return fmt::format("inode {} (directory tree node)", c.owner);
    case ClaimKind::kXattr: return fmt::format("inode {} (xattr block)", c.owner);
  }
  return "?";
}

bool Checker::inode_bit(uint64_t ino) const { return get_bit(ibits_, ino - 1); }
bool Checker::block_bit(uint64_t blk) const { return get_bit(bbits_, blk); }

void Checker::run() {
  dev_blocks_ = dev_.size_bytes() / kBlockSize;
  if (!load_superblock()) return;
  res_.stats.block_count = sb_.block_count;
  res_.stats.inode_count = sb_.inode_count;
  // Left mounted, or needing recovery (the journal is replayed before the check).
  res_.stats.was_unclean = sb_.state == kStateMounted || (sb_.incompat & kIncompatRecover);
  if (!sb_from_backup_) check_backup_superblock();
  used_.resize(sb_.block_count);
  dup_.resize(sb_.block_count);
  // The fixed regions, and whatever lies between them, belong to the metadata.
  const uint64_t starts[] = {0, sb_.block_bitmap_start, sb_.inode_bitmap_start, sb_.inode_table_start,
                             sb_.journal_start};
  const uint64_t lens[] = {1, sb_.block_bitmap_blocks, sb_.inode_bitmap_blocks, sb_.inode_table_blocks,
                           sb_.journal_blocks};
  uint64_t next = 0;
  for (int i = 0; i < 5; ++i) {
    if (starts[i] > next) claim(next, starts[i] - next, 0, ClaimKind::kMetadata);
    if (lens[i]) claim(starts[i], lens[i], 0, ClaimKind::kMetadata);
    next = starts[i] + lens[i];
  }
  if (sb_.data_start > next) claim(next, sb_.data_start - next, 0, ClaimKind::kMetadata);
  claim(sb_.backup_block(), 1, 0, ClaimKind::kMetadata);

  load_bitmaps();
  if (res_.status < 0) return;
  scan_inodes();
  if (res_.status < 0) return;
  scan_directories();
  if (res_.status < 0) return;
  check_orphans();
  check_links();
  check_ownership();
  check_block_bitmap();
  check_free_counts();
  res_.stats.blocks_used = used_.count();
  if (res_.stats.was_unclean && opts_.repair) problem("superblock: not cleanly unmounted");
}

bool Checker::load_superblock() {
  if (dev_blocks_ < kMinBlocks) {
    res_.status = -EINVAL;
    res_.error = fmt::format("device too small for a chainfs ({} blocks of 4 KiB)", dev_blocks_);
    return false;
  }
  mem::AlignedBuffer buf(kBlockSize);
  int r = dev_.read(0, buf.data(), kBlockSize);
  if (r < 0) {
    res_.status = r;
    res_.error = fmt::format("cannot read the superblock: {}", std::strerror(-r));
    return false;
  }
  std::string why;
  int primary = decode_superblock(buf.data(), dev_blocks_, &sb_, &why);
  if (primary == 0) return check_ro_compat();
  // The backup lives in the device's last block (mkfs spans the whole device).
  const uint64_t last = dev_blocks_ - 1;
  std::string why2;
  int backup = dev_.read(last * kBlockSize, buf.data(), kBlockSize);
  if (backup == 0) backup = decode_superblock(buf.data(), dev_blocks_, &sb_, &why2);
  else why2 = std::strerror(-backup);
  if (backup == 0 && sb_.backup_block() != last) {
    backup = -kCorrupt;
    why2 = "it does not describe a filesystem ending in its own block";
  }
  if (backup == 0) {
    sb_from_backup_ = true;
    res_.stats.used_backup_superblock = true;
    problem(fmt::format("superblock: primary is bad ({}); checked with the backup in block {}", why, last));
    return true;
  }
  if (primary == -EINVAL && backup == -EINVAL) {
    res_.status = -EINVAL;
    res_.error = "not a chainfs filesystem (bad magic in the superblock and its backup)";
  } else {
    res_.status = -kCorrupt;
    res_.error = fmt::format("no valid superblock: primary: {}; backup in block {}: {}", why, last, why2);
  }
  return false;
}

bool Checker::check_ro_compat() {
  const uint64_t unknown = sb_.ro_compat & ~kRoCompatKnown;
  if (unknown == 0) return true;
  // Read-only features this version does not know: a newer chainfs (not checked), unless the
  // backup has none, and then the primary's bits are damage (the backup's value is taken).
  mem::AlignedBuffer buf(kBlockSize);
  Superblock b;
  std::string why;
  if (dev_.read(sb_.backup_block() * kBlockSize, buf.data(), kBlockSize) == 0 &&
      decode_superblock(buf.data(), dev_blocks_, &b, &why) == 0 && (b.ro_compat & ~kRoCompatKnown) == 0) {
    problem(fmt::format("superblock: unknown read-only feature bits {:#x} in the primary, none in the backup", unknown));
    sb_.ro_compat = b.ro_compat;
    return true;
  }
  res_.status = -EINVAL;
  res_.error = fmt::format("unknown read-only feature bits {:#x} (made by a newer chainfs?): not checked", unknown);
  return false;
}

void Checker::check_backup_superblock() {
  const uint64_t at = sb_.backup_block();
  mem::AlignedBuffer buf(kBlockSize);
  int r = dev_.read(at * kBlockSize, buf.data(), kBlockSize);
  if (r < 0) {
    problem(fmt::format("superblock: cannot read the backup in block {}: {}", at, std::strerror(-r)));
    return;
  }
  Superblock b;
  std::string why;
  if (decode_superblock(buf.data(), dev_blocks_, &b, &why) < 0) {
    problem(fmt::format("superblock: backup in block {} is bad: {}", at, why));
    return;
  }
  // The backup is rewritten with every superblock write: any difference in what
  // describes the layout means one of them is stale or damaged.
  if (b.uuid != sb_.uuid || b.block_count != sb_.block_count || b.inode_count != sb_.inode_count ||
      b.data_start != sb_.data_start || b.incompat != sb_.incompat || b.inode_table_start != sb_.inode_table_start ||
      b.journal_start != sb_.journal_start || b.journal_blocks != sb_.journal_blocks) {
    problem(fmt::format("superblock: backup in block {} does not match the primary", at));
  }
}

void Checker::load_bitmaps() {
  struct Which {
    const char* name;
    BitmapKind kind;
    uint64_t start, blocks, items;
    std::vector<uint8_t>* bits;
    std::vector<bool>* ok;
  };
  const Which all[] = {
      {"block bitmap", BitmapKind::kBlocks, sb_.block_bitmap_start, sb_.block_bitmap_blocks, sb_.block_count, &bbits_,
       &bb_ok_},
      {"inode bitmap", BitmapKind::kInodes, sb_.inode_bitmap_start, sb_.inode_bitmap_blocks, sb_.inode_count, &ibits_,
       &ib_ok_},
  };
  std::vector<uint8_t> raw;
  for (const Which& w : all) {
    progress(w.name, 0, w.blocks);
    int r = read_region(dev_, w.start, w.blocks, &raw);
    if (r < 0) {
      res_.status = r;
      res_.error = fmt::format("cannot read the {}: {}", w.name, std::strerror(-r));
      return;
    }
    w.bits->assign(w.blocks * kBitmapBytes, 0);
    w.ok->assign(w.blocks, true);
    for (uint64_t i = 0; i < w.blocks; ++i) {
      const uint8_t* blk = raw.data() + i * kBlockSize;
      if (check_bitmap_block(blk, w.kind, static_cast<uint32_t>(i)) < 0) {
        // Its bits are unknown, not the owners: the computed map can still rebuild it.
        (*w.ok)[i] = false;
        problem(fmt::format("{} block {} (index {}): bad magic, checksum, kind or index", w.name, w.start + i, i));
        continue;
      }
      std::memcpy(w.bits->data() + i * kBitmapBytes, bitmap_bits(blk), kBitmapBytes);
    }
    // Items past the end are marked in use, so no allocator ever hands them out.
    const uint64_t end = w.blocks * kBitsPerBitmapBlock;
    if ((*w.ok)[w.blocks - 1]) {
      for (uint64_t i = w.items; i < end; ++i) {
        if (!get_bit(*w.bits, i)) {
          problem(fmt::format("{}: bits past the last {} are not all set", w.name,
                              w.kind == BitmapKind::kBlocks ? "block" : "inode"));
          break;
        }
      }
    }
    progress(w.name, w.blocks, w.blocks);
  }
}

void Checker::check_ownership() {
  if (!dup_.any()) return;
  // Owners are listed for the first kMaxDupBlocks blocks only: a damaged extent can claim
  // kMaxExtentBlocks blocks at once, and a map entry per block would not scale.
  constexpr size_t kMaxDupBlocks = 4096;
  std::vector<uint64_t> dups;
  uint64_t unlisted = 0;
  for (uint64_t b = 0; b < dup_.size(); ++b) {
    if (!dup_.test(b)) continue;
    if (dups.size() < kMaxDupBlocks) dups.push_back(b);
    else ++unlisted;
  }
  std::map<uint64_t, std::vector<size_t>> owners;  // duplicate block -> claims
  for (size_t c = 0; c < claims_.size(); ++c) {
    const Claim& cl = claims_[c];
    for (auto it = std::lower_bound(dups.begin(), dups.end(), cl.start); it != dups.end() && *it < cl.start + cl.len;
         ++it)
      owners[*it].push_back(c);
  }
  // One line per run of consecutive blocks with the same owners.
  size_t lines = 0, more = 0;
  auto names = [&](const std::vector<size_t>& cs) {
    std::vector<std::string> n;
    for (size_t c : cs) n.push_back(owner_name(claims_[c]));
    return n;
  };
  for (auto it = owners.begin(); it != owners.end();) {
    std::vector<std::string> who = names(it->second);
    uint64_t first = it->first, last = first;
    auto jt = std::next(it);
    while (jt != owners.end() && jt->first == last + 1 && names(jt->second) == who) last = (jt++)->first;
    if (lines++ < kMaxRunLines) {
      std::string list;
      for (size_t i = 0; i < who.size(); ++i) list += (i ? (i + 1 == who.size() ? " and " : ", ") : "") + who[i];
      problem(fmt::format("{}: claimed by {}", range_text("block", "blocks", first, last), list));
    } else {
      ++more;
    }
    it = jt;
  }
  if (more) problem(fmt::format("blocks: {} more runs of blocks with several owners", more));
  if (unlisted) problem(fmt::format("blocks: {} more blocks with several owners", unlisted));
}

void Checker::check_block_bitmap() {
  // Runs of blocks where the on-disk bitmap and the computed map disagree.
  uint64_t unowned = 0;
  size_t set_lines = 0, clear_lines = 0, more_set = 0, more_clear = 0;
  auto owner_of = [&](uint64_t b) -> std::string {
    for (const Claim& c : claims_)
      if (b >= c.start && b < c.start + c.len) return owner_name(c);
    return "?";
  };
  const uint64_t n = sb_.block_count;
  uint64_t b = 0;
  while (b < n) {
    // Skip agreeing 64-block words quickly.
    if (b % 64 == 0 && b + 64 <= n && bb_ok_[b / kBitsPerBitmapBlock] &&
        bb_ok_[(b + 63) / kBitsPerBitmapBlock]) {
      uint64_t disk = load_le64(bbits_.data() + b / 8);
      if (disk == used_.word(b / 64)) {
        b += 64;
        continue;
      }
    }
    if (!bb_ok_[b / kBitsPerBitmapBlock]) {  // reported already; rebuilt by repair
      ++b;
      continue;
    }
    const bool disk = block_bit(b), comp = used_.test(b);
    if (disk == comp) {
      ++b;
      continue;
    }
    uint64_t e = b;
    while (e + 1 < n && bb_ok_[(e + 1) / kBitsPerBitmapBlock] && block_bit(e + 1) == disk &&
           used_.test(e + 1) == comp)
      ++e;
    if (comp) {
      if (set_lines++ < kMaxRunLines)
        problem(fmt::format("block bitmap: {} in use by {} but marked free",
                            range_text("block", "blocks", b, e), owner_of(b)));
      else
        ++more_set;
    } else if (damaged_) {
      unowned += e - b + 1;
    } else if (clear_lines++ < kMaxRunLines) {
      // Also after a crash: the next mount does not free them.
      problem(fmt::format("block bitmap: {} marked in use but owned by nothing (leaked)",
                          range_text("block", "blocks", b, e)));
    } else {
      ++more_clear;
    }
    b = e + 1;
  }
  if (more_set) problem(fmt::format("block bitmap: {} more runs in use but marked free", more_set));
  if (more_clear)
    problem(fmt::format("block bitmap: {} more runs of leaked blocks", more_clear));
  if (unowned)
    problem(fmt::format("block bitmap: {} block{} marked in use {} owned by nothing found (some may belong to "
                        "the damaged objects above)",
                        unowned, unowned == 1 ? "" : "s", unowned == 1 ? "is" : "are"));
}

void Checker::check_free_counts() {
  if (std::all_of(bb_ok_.begin(), bb_ok_.end(), [](bool x) { return x; })) {
    uint64_t used = 0;
    for (uint64_t b = 0; b < sb_.block_count; ++b) used += block_bit(b);
    uint64_t free_blocks = sb_.block_count - used;
    if (free_blocks != sb_.free_blocks)
      expected_after_crash(
          fmt::format("superblock: free block count is {}, the bitmap has {} free", sb_.free_blocks, free_blocks));
  }
  if (std::all_of(ib_ok_.begin(), ib_ok_.end(), [](bool x) { return x; })) {
    uint64_t used = 0;
    for (uint64_t i = 1; i <= sb_.inode_count; ++i) used += inode_bit(i);
    res_.stats.inodes_used = used;
    if (sb_.inode_count - used != sb_.free_inodes)
      expected_after_crash(fmt::format("superblock: free inode count is {}, the bitmap has {} free",
                                       sb_.free_inodes, sb_.inode_count - used));
  }
}

}  // namespace chainfs::fsck
