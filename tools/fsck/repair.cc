// Repair (fsck -y / -p), after a whole check, modelled on e2fsck's passes. Everything the
// check found is fixed here, in this order:
//  0. inodes that cannot be kept are cleared: records that do not decode, symlinks whose
//     target cannot be read, unlinked inodes (link count 0, no entry: orphans included);
//     what they owned becomes free, entries pointing to them are removed;
//  1. damaged extent trees and directory trees: the entries of every node that still
//     verifies, plus leaves of the same tree found among the blocks marked in use that
//     nothing owns (a bad internal node loses no leaf), are salvaged;
//  2. blocks claimed more than once: the first owner (metadata first, then by inode) keeps
//     them, every later owner gets its own copy (new blocks, data copied, its extents,
//     tree or xattr chain rewritten); an inode for which no space is left is cleared;
//  3. directories: the trees with bad, duplicate or stale entries are rebuilt from their
//     good entries; a directory keeps one entry (the one its '..' names, if any);
//     directories cut off from the root and inodes in use without an entry are
//     reconnected in /lost+found (made when missing) as "#<inode>";
//  4. every in-use record gets its counts from what was found (link count, entry count,
//     parent, blocks), the fields its type does not use zeroed, the orphan link cleared;
//  5. both bitmaps are written from what is owned, the superblocks with the free counts,
//     an empty orphan list, the clean state and no "needs recovery" bit (check_filesystem
//     replays the journal before the first pass).
// New trees are written to free blocks, so an interrupted repair leaves the old structures
// in place; the next check (the driver runs one after every repair) sees what is left.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <map>
#include <set>
#include <unordered_set>

#include "fs/btree/btree.h"
#include "fs/btree/node.h"
#include "fs/format/bitmap.h"
#include "fs/format/dirent.h"
#include "fs/format/endian.h"
#include "fs/format/xattr.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/write_store.h"

namespace chainfs::fsck {

using namespace format;

namespace {
constexpr size_t kBitmapBytes = kBlockSize - kBitmapHeader;
constexpr uint64_t kChunkBlocks = 256;
// Blocks read while looking for loose leaves of damaged trees (16 GiB of unowned blocks).
constexpr uint64_t kMaxLooseScan = 1ull << 22;
constexpr const char* kLostFound = "lost+found";

unsigned kind_bit(ClaimKind k) { return 1u << static_cast<unsigned>(k); }
constexpr unsigned kAllKinds = 0xff;

bool is_dir(uint32_t mode) { return S_ISDIR(mode); }
}  // namespace

// The repair of one pass; state shared by its steps.
class Repair {
 public:
  Repair(Checker& c, std::vector<Problem>* extra) : c_(c), sb_(c.sb_), extra_(*extra) {}
  int64_t run();

 private:
  // Fields of a record repair sets, besides the counts.
  struct Patch {
    bool extents = false;
    uint64_t ext_root = 0;            // extent tree root, 0: the inline extents below
    std::vector<Extent> inline_ext;
    bool xattrs = false;
    uint64_t xattr_block = 0;
    std::string inline_xattrs;
    bool dir = false;
    uint64_t dir_root = 0;
  };

  bool survives(uint64_t ino) const {
    auto it = c_.inodes_.find(ino);
    return it != c_.inodes_.end() && it->second.valid && !it->second.clear;
  }
  InodeInfo& info(uint64_t ino) { return c_.inodes_[ino]; }
  void note(std::string text, bool fixed) { extra_.push_back(Problem{std::move(text), fixed}); }

  // Claims and the allocator.
  void index_claims();
  void kill(uint64_t owner, unsigned kinds);
  // Kills the claims and hands their blocks back to the allocator (those no other claim shares).
  void release(uint64_t owner, unsigned kinds);
  void add_claim(uint64_t start, uint64_t len, uint64_t owner, ClaimKind kind);
  void retake();
  int alloc_run(uint64_t want, uint64_t* start, uint64_t* got);
  int alloc_one(uint64_t, uint64_t* b) {
    uint64_t got;
    return alloc_run(1, b, &got);
  }
  void clear_inode(uint64_t ino);

  // Steps.
  void decide_clears();
  void scan_loose_leaves();
  void salvage(uint64_t root, uint64_t tag, const std::function<void(uint64_t, std::string_view)>& fn);
  int resolve_duplicates();
  int clone_extent(uint64_t owner, const Claim& cl, const std::vector<std::pair<uint64_t, uint64_t>>& runs);
  void salvage_extents();
  std::vector<Dirent> read_dir(uint64_t ino);
  void plan_directories();
  int write_directories();
  int write_extents();
  int write_xattrs();
  int write_tree(uint64_t owner, uint64_t tag, ClaimKind kind, const std::vector<std::pair<uint64_t, std::string>>& kv,
                 uint64_t* root);
  int write_inodes();
  int write_bitmaps();
  int write_block(uint64_t blk, const void* data);

  Checker& c_;
  Superblock& sb_;
  std::vector<Problem>& extra_;
  int64_t writes_ = 0;
  std::unordered_map<uint64_t, std::vector<std::vector<uint8_t>>> loose_;  // tree tag -> loose leaves
  std::unordered_map<uint64_t, Patch> patch_;
  // Directory plan: rebuilt directories and their final entries, the directory each
  // directory keeps its entry in, final link counts of the others, created inodes.
  std::map<uint64_t, std::vector<Dirent>> lists_;
  std::set<uint64_t> rebuild_;
  std::unordered_map<uint64_t, uint64_t> keep_;
  std::unordered_map<uint64_t, uint64_t> links_;
  std::vector<uint64_t> created_;
  uint64_t lost_found_ = 0;
};

int64_t Checker::repair(std::vector<Problem>* extra) { return Repair(*this, extra).run(); }

int64_t Repair::run() {
  index_claims();
  decide_clears();
  retake();
  // Loose leaves are read before anything is allocated (they lie in blocks nobody owns), and
  // salvaged extents take their blocks before copies of shared blocks are placed.
  scan_loose_leaves();
  salvage_extents();
  if (int r = resolve_duplicates(); r < 0) return r;
  plan_directories();
  int r = write_directories();
  if (r == 0) r = write_extents();
  if (r == 0) r = write_xattrs();
  if (r == 0) r = write_inodes();
  if (r == 0) r = write_bitmaps();
  if (r == 0) r = c_.dev_.flush();
  return r < 0 ? r : writes_;
}

// ---- claims and allocation ----

void Repair::index_claims() {
  c_.claims_of_.clear();
  for (size_t i = 0; i < c_.claims_.size(); ++i) c_.claims_of_[c_.claims_[i].owner].push_back(i);
}

void Repair::kill(uint64_t owner, unsigned kinds) {
  if (owner == 0) return;
  auto it = c_.claims_of_.find(owner);
  if (it == c_.claims_of_.end()) return;
  for (size_t i : it->second)
    if (kinds & kind_bit(c_.claims_[i].kind)) c_.claims_[i].dead = true;
}

void Repair::add_claim(uint64_t start, uint64_t len, uint64_t owner, ClaimKind kind) {
  c_.claims_of_[owner].push_back(c_.claims_.size());
  c_.claims_.push_back(Claim{start, len, owner, kind, false});
  for (uint64_t b = start; b < start + len; ++b) c_.taken_.set(b);
}

void Repair::retake() {
  c_.taken_.resize(sb_.block_count);
  for (const Claim& cl : c_.claims_)
    if (!cl.dead)
      for (uint64_t b = cl.start; b < cl.start + cl.len; ++b) c_.taken_.set(b);
  c_.alloc_next_ = sb_.data_start;
}

// A run of up to want free blocks (at least one), taken at once.
int Repair::alloc_run(uint64_t want, uint64_t* start, uint64_t* got) {
  const uint64_t lo = sb_.data_start, hi = sb_.backup_block();
  if (c_.alloc_next_ < lo || c_.alloc_next_ >= hi) c_.alloc_next_ = lo;
  uint64_t b = c_.alloc_next_;
  for (uint64_t n = 0; n < hi - lo; ++n, b = b + 1 < hi ? b + 1 : lo) {
    if (c_.taken_.test(b)) continue;
    uint64_t e = b;
    while (e < hi && e - b < want && !c_.taken_.test(e)) c_.taken_.set(e++);
    *start = b;
    *got = e - b;
    c_.alloc_next_ = e;
    return 0;
  }
  return -ENOSPC;
}

void Repair::release(uint64_t owner, unsigned kinds) {
  auto it = c_.claims_of_.find(owner);
  if (it == c_.claims_of_.end()) return;
  for (size_t i : it->second) {
    Claim& cl = c_.claims_[i];
    if (cl.dead || !(kinds & kind_bit(cl.kind))) continue;
    cl.dead = true;
    // A block another claim shares stays taken (that owner keeps it).
    for (uint64_t b = cl.start; b < cl.start + cl.len; ++b)
      if (!c_.dup_.test(b)) c_.taken_.clear(b);
  }
}

void Repair::clear_inode(uint64_t ino) {
  info(ino).clear = true;
  release(ino, kAllKinds);
}

int Repair::write_block(uint64_t blk, const void* data) {
  mem::AlignedBuffer buf(kBlockSize);
  std::memcpy(buf.data(), data, kBlockSize);
  ++writes_;
  return c_.dev_.write(blk * kBlockSize, buf.data(), kBlockSize);
}

// ---- 0. inodes that go ----

void Repair::decide_clears() {
  for (uint64_t ino : c_.order_) {
    InodeInfo& i = info(ino);
    if (!i.valid) i.clear = true;
    if (i.clear) note(fmt::format("inode {}: cleared", ino), true);
    if (ino == kRootIno) {
      if (i.valid && !is_dir(i.mode)) i.clear = true;  // made again below, as an empty directory
    } else if (!i.clear && i.nlink == 0 && i.links_found == 0) {
      note(fmt::format("inode {}: unlinked{}: freed", ino, i.orphan ? " while open (orphan list)" : ""), true);
      i.clear = true;
    }
    if (i.clear) kill(ino, kAllKinds);
  }
  if (!survives(kRootIno)) {
    InodeInfo& r = info(kRootIno);
    if (std::find(c_.order_.begin(), c_.order_.end(), kRootIno) == c_.order_.end())
      c_.order_.insert(c_.order_.begin(), kRootIno);
    r = InodeInfo{};
    r.valid = true;
    r.mode = S_IFDIR | 0755;
    r.nlink = 2;
    r.parent = kRootIno;
    created_.push_back(kRootIno);
    rebuild_.insert(kRootIno);
    lists_[kRootIno];
    note("inode 1: root directory made again (empty; what it held goes to /lost+found)", true);
  }
}

// ---- 2. blocks with several owners ----

int Repair::resolve_duplicates() {
  if (!c_.dup_.any()) return 0;
  BitSet seen;
  seen.resize(sb_.block_count);
  struct Clone {
    size_t claim;
    std::vector<std::pair<uint64_t, uint64_t>> runs;  // (offset in the claim, length) owned before
  };
  std::vector<Clone> clones;
  for (size_t ci = 0; ci < c_.claims_.size(); ++ci) {
    const Claim& cl = c_.claims_[ci];
    if (cl.dead) continue;
    std::vector<std::pair<uint64_t, uint64_t>> runs;
    for (uint64_t b = cl.start; b < cl.start + cl.len; ++b) {
      if (b % 64 == 0 && b + 64 <= cl.start + cl.len && c_.dup_.word(b / 64) == 0) {
        b += 63;
        continue;
      }
      if (!c_.dup_.test(b) || !seen.test_set(b)) continue;
      if (!runs.empty() && runs.back().first + runs.back().second == b - cl.start)
        ++runs.back().second;
      else
        runs.emplace_back(b - cl.start, 1);
    }
    if (runs.empty() || cl.owner == 0) continue;
    InodeInfo& o = info(cl.owner);
    switch (cl.kind) {
      case ClaimKind::kData: clones.push_back(Clone{ci, std::move(runs)}); break;
      case ClaimKind::kExtentNode: o.fix_extents = true; break;  // a new tree from its extents
      case ClaimKind::kDirNode: o.rebuild = true; break;
      case ClaimKind::kXattr:
        if (!o.fix_xattrs) {
          std::string blob;
          if (c_.read_xattr_chain(cl.owner, o.xattr_block, &blob, nullptr).empty()) c_.xattrs_[cl.owner] = blob;
          else c_.xattrs_[cl.owner].clear();
          o.fix_xattrs = true;
        }
        break;
      case ClaimKind::kMetadata: break;
    }
  }
  for (const Clone& k : clones) {
    const Claim cl = c_.claims_[k.claim];
    if (!survives(cl.owner)) continue;
    int r = clone_extent(cl.owner, cl, k.runs);
    if (r == -ENOSPC) {
      note(fmt::format("inode {}: no free space for its own copy of blocks another object owns: cleared",
                       cl.owner),
           true);
      clear_inode(cl.owner);
    } else if (r < 0) {
      return r;
    }
  }
  return 0;
}

int Repair::clone_extent(uint64_t owner, const Claim& cl, const std::vector<std::pair<uint64_t, uint64_t>>& runs) {
  std::vector<Extent>& list = c_.ext_[owner];
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const Extent& e) { return e.physical == cl.start && e.len == cl.len; });
  if (it == list.end()) return 0;
  const Extent old = *it;
  std::vector<Extent> pieces;
  mem::AlignedBuffer buf(kBlockSize);
  uint64_t off = 0;
  auto keep_until = [&](uint64_t end) {
    if (end > off) pieces.push_back(Extent{old.logical + off, old.physical + off, static_cast<uint32_t>(end - off), old.flags});
    off = end;
  };
  std::vector<std::pair<uint64_t, uint64_t>> placed;
  auto undo = [&](int r) {  // the copies made so far are not used: their blocks are free again
    for (auto [b, n] : placed)
      for (uint64_t k = 0; k < n; ++k) c_.taken_.clear(b + k);
    return r;
  };
  for (auto [roff, rlen] : runs) {
    keep_until(roff);
    while (off < roff + rlen) {
      uint64_t start, got;
      if (int r = alloc_run(roff + rlen - off, &start, &got); r < 0) return undo(r);
      placed.emplace_back(start, got);
      if (!old.unwritten()) {
        for (uint64_t k = 0; k < got; ++k) {
          int r = c_.dev_.read((old.physical + off + k) * kBlockSize, buf.data(), kBlockSize);
          if (r == 0) r = write_block(start + k, buf.data());
          if (r < 0) return undo(r);
        }
      }
      pieces.push_back(Extent{old.logical + off, start, static_cast<uint32_t>(got), old.flags});
      off += got;
    }
  }
  keep_until(old.len);
  uint64_t copied = 0;
  for (auto [roff, rlen] : runs) copied += rlen;
  note(fmt::format("inode {}: {} block{} it shared with another owner copied", owner, copied, copied == 1 ? "" : "s"),
       true);
  list.erase(it);
  list.insert(list.end(), pieces.begin(), pieces.end());
  std::sort(list.begin(), list.end(), [](const Extent& a, const Extent& b) { return a.logical < b.logical; });
  info(owner).fix_extents = true;
  return 0;
}

// ---- 1. salvage ----

void Repair::scan_loose_leaves() {
  std::unordered_set<uint64_t> tags;
  for (uint64_t ino : c_.order_) {
    const InodeInfo& i = c_.inodes_[ino];
    if (!survives(ino) || !i.tree_bad) continue;
    tags.insert(tree_tag(is_dir(i.mode) ? kTagDir : kTagExtent, ino));
  }
  if (tags.empty()) return;
  mem::AlignedBuffer buf(kBlockSize);
  uint64_t reads = 0;
  for (uint64_t b = sb_.data_start; b < sb_.backup_block() && reads < kMaxLooseScan; ++b) {
    const bool bm_ok = c_.bb_ok_[b / kBitsPerBitmapBlock];
    if (c_.used_.test(b) || (bm_ok && !c_.block_bit(b))) continue;
    ++reads;
    if (c_.dev_.read(b * kBlockSize, buf.data(), kBlockSize) < 0) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
    if (load_le32(p) != btree::node::kMagic) continue;
    const uint64_t tag = load_le64(p + btree::node::kOffTag);
    if (!tags.count(tag) || btree::node::verify(p, tag, 0, btree::node::Range{}, nullptr) < 0) continue;
    loose_[tag].emplace_back(p, p + kBlockSize);
  }
}

void Repair::salvage(uint64_t root, uint64_t tag, const std::function<void(uint64_t, std::string_view)>& fn) {
  namespace nd = btree::node;
  ReadStore store(c_.dev_, sb_.data_start, sb_.backup_block());
  std::unordered_set<uint64_t> seen;
  std::function<void(uint64_t, int, nd::Range, unsigned)> walk = [&](uint64_t blk, int level, nd::Range r,
                                                                    unsigned depth) {
    if (blk == 0 || depth > nd::kMaxLevel + 1 || !seen.insert(blk).second) return;
    std::vector<uint8_t> b(kBlockSize);
    if (store.read_block(blk, b.data()) < 0 || nd::verify(b.data(), tag, level, r, nullptr) < 0) return;
    const unsigned n = nd::count(b.data());
    if (nd::level(b.data()) == 0) {
      for (unsigned i = 0; i < n; ++i) fn(nd::leaf_key(b.data(), i), nd::leaf_value(b.data(), i));
      return;
    }
    for (unsigned i = 0; i < n; ++i)
      walk(nd::internal_child(b.data(), i), static_cast<int>(nd::level(b.data())) - 1, nd::child_range(b.data(), i, r),
           depth + 1);
  };
  walk(root, -1, nd::Range{}, 0);
  auto it = loose_.find(tag);
  if (it == loose_.end()) return;
  for (const std::vector<uint8_t>& b : it->second)
    for (unsigned i = 0, n = nd::count(b.data()); i < n; ++i) fn(nd::leaf_key(b.data(), i), nd::leaf_value(b.data(), i));
}

// Extents of damaged extent trees: every readable one that owns no block another object owns.
void Repair::salvage_extents() {
  for (uint64_t ino : c_.order_) {
    InodeInfo& i = c_.inodes_[ino];
    if (!survives(ino) || !i.tree_bad || is_dir(i.mode)) continue;
    std::vector<Extent> got;
    salvage(i.tree_root, tree_tag(kTagExtent, ino), [&](uint64_t, std::string_view v) {
      if (v.size() != kExtentSize) return;
      Extent e = decode_extent(v.data());
      if (check_extent(e, sb_.data_start, sb_.block_count) == 0) got.push_back(e);
    });
    std::sort(got.begin(), got.end(), [](const Extent& a, const Extent& b) { return a.logical < b.logical; });
    std::vector<Extent> list;
    uint64_t end = 0;
    const uint64_t eof_block = (i.size + kBlockSize - 1) / kBlockSize;
    for (const Extent& e : got) {
      if (!list.empty() && e.logical < end) continue;
      bool free = true;
      for (uint64_t b = e.physical; b < e.physical + e.len && free; ++b) free = !c_.taken_.test(b);
      if (!free) continue;
      for (uint64_t b = e.physical; b < e.physical + e.len; ++b) c_.taken_.set(b);
      list.push_back(e);
      end = e.end();
      if (!e.unwritten() && e.end() > eof_block) i.fix_size = std::max(i.fix_size, e.end() * kBlockSize);
    }
    note(fmt::format("inode {}: {} extent{} salvaged", ino, list.size(), list.size() == 1 ? "" : "s"), true);
    c_.ext_[ino] = std::move(list);
    i.fix_extents = true;
  }
}

// ---- 3. directories ----

// The entries of a directory that read, each name once.
std::vector<Dirent> Repair::read_dir(uint64_t ino) {
  std::vector<Dirent> out;
  const InodeInfo& d = c_.inodes_[ino];
  if (d.tree_root == 0 && !d.tree_bad) return out;
  std::unordered_set<std::string> names;
  std::vector<Dirent> bucket;
  salvage(d.tree_root, tree_tag(kTagDir, ino), [&](uint64_t, std::string_view v) {
    if (decode_bucket(v, &bucket) < 0) return;
    for (Dirent& e : bucket)
      if (names.insert(e.name).second) out.push_back(std::move(e));
  });
  return out;
}

void Repair::plan_directories() {
  auto load = [&](uint64_t d) {
    if (!lists_.count(d)) lists_[d] = read_dir(d);
  };
  auto target_ok = [&](uint64_t ino) { return ino != kRootIno && ino <= sb_.inode_count && survives(ino); };
  for (uint64_t ino : c_.order_) {
    const InodeInfo& i = c_.inodes_[ino];
    if (survives(ino) && is_dir(i.mode) && (i.rebuild || i.tree_bad)) rebuild_.insert(ino);
  }
  for (auto [d, ch] : c_.edges_) {
    if (!survives(d)) continue;
    if (!target_ok(ch) || (is_dir(info(ch).mode) && info(ch).links_found > 1)) rebuild_.insert(d);
  }
  for (uint64_t d : rebuild_) load(d);
  // Every entry that will stay (a directory's entries count once; see keep_ below).
  std::vector<std::pair<uint64_t, uint64_t>> edges;
  for (auto [d, ch] : c_.edges_)
    if (survives(d) && !rebuild_.count(d) && target_ok(ch)) edges.emplace_back(d, ch);
  for (uint64_t d : rebuild_)
    for (const Dirent& e : lists_[d])
      if (target_ok(e.ino)) edges.emplace_back(d, e.ino);
  // Each directory keeps one entry: in the directory its '..' names, else the first found.
  for (auto [d, ch] : edges) {
    if (!is_dir(info(ch).mode)) continue;
    auto [it, fresh] = keep_.emplace(ch, d);
    if (!fresh && d == info(ch).parent) it->second = d;
  }
  for (auto [d, ch] : edges) {
    if (is_dir(info(ch).mode)) {
      if (keep_[ch] != d && !rebuild_.count(d)) {
        rebuild_.insert(d);
        load(d);
      }
    } else {
      ++links_[ch];
    }
  }
  // Directories the root does not reach (loops) move to /lost+found, one per loop.
  std::unordered_map<uint64_t, std::vector<uint64_t>> kids;
  for (auto [ch, d] : keep_) kids[d].push_back(ch);
  std::unordered_set<uint64_t> reached;
  auto reach = [&](uint64_t from) {
    std::vector<uint64_t> todo{from};
    reached.insert(from);
    while (!todo.empty()) {
      uint64_t d = todo.back();
      todo.pop_back();
      for (uint64_t ch : kids[d])
        if (keep_.count(ch) && keep_[ch] == d && reached.insert(ch).second) todo.push_back(ch);
    }
  };
  reach(kRootIno);
  std::vector<uint64_t> reconnect;
  for (uint64_t ino : c_.order_) {
    if (ino == kRootIno || !survives(ino) || !is_dir(info(ino).mode) || reached.count(ino)) continue;
    if (auto it = keep_.find(ino); it != keep_.end()) {
      if (!rebuild_.count(it->second)) {
        rebuild_.insert(it->second);
        load(it->second);
      }
      keep_.erase(it);
    }
    reconnect.push_back(ino);
    reach(ino);
  }
  for (uint64_t ino : c_.order_) {
    if (ino == kRootIno || !survives(ino) || is_dir(info(ino).mode) || links_[ino] != 0) continue;
    if (info(ino).nlink == 0) clear_inode(ino);  // its only entries were stale
    else reconnect.push_back(ino);
  }
  std::sort(reconnect.begin(), reconnect.end());
  if (!reconnect.empty()) {
    // Find /lost+found, or make it.
    std::vector<Dirent> root_list = lists_.count(kRootIno) ? lists_[kRootIno] : read_dir(kRootIno);
    bool name_taken = false;
    for (const Dirent& e : root_list) {
      if (e.name != kLostFound) continue;
      if (target_ok(e.ino) && is_dir(info(e.ino).mode) && keep_.count(e.ino) && keep_[e.ino] == kRootIno &&
          std::find(reconnect.begin(), reconnect.end(), e.ino) == reconnect.end())
        lost_found_ = e.ino;
      else
        name_taken = true;
    }
    if (!lost_found_ && name_taken && !rebuild_.count(kRootIno)) {
      rebuild_.insert(kRootIno);  // the entry that is not a directory goes to /lost+found too
      load(kRootIno);
    }
    if (!lost_found_) {
      uint64_t ino = 0;
      for (uint64_t i = 2; i <= sb_.inode_count && !ino; ++i) {
        const bool bit_known = c_.ib_ok_[(i - 1) / kBitsPerBitmapBlock];
        if (!c_.inodes_.count(i) && !(bit_known && c_.inode_bit(i))) ino = i;
      }
      if (ino == 0) {
        note(fmt::format("lost+found: no free inode to make it; {} inodes stay disconnected", reconnect.size()), false);
        reconnect.clear();
      } else {
        InodeInfo& lf = info(ino);
        lf = InodeInfo{};
        lf.valid = true;
        lf.mode = S_IFDIR | 0700;
        lf.nlink = 2;
        lf.parent = kRootIno;
        c_.order_.insert(std::upper_bound(c_.order_.begin(), c_.order_.end(), ino), ino);
        created_.push_back(ino);
        lists_[ino];
        rebuild_.insert(ino);
        load(kRootIno);
        rebuild_.insert(kRootIno);
        lists_[kRootIno].push_back(Dirent{ino, DT_DIR, kLostFound});
        keep_[ino] = kRootIno;
        lost_found_ = ino;
        note(fmt::format("lost+found: made (inode {})", ino), true);
      }
    }
  }
  // The final entries of the directories that are rebuilt.
  for (uint64_t d : rebuild_) {
    load(d);
    std::vector<Dirent> out;
    std::unordered_set<uint64_t> dirs_here;
    std::unordered_set<std::string> names;
    for (Dirent& e : lists_[d]) {
      if (!target_ok(e.ino) || !names.insert(e.name).second) continue;
      const InodeInfo& ch = info(e.ino);
      if (is_dir(ch.mode) && (!keep_.count(e.ino) || keep_[e.ino] != d || !dirs_here.insert(e.ino).second)) continue;
      if (d == kRootIno && e.name == kLostFound && e.ino != lost_found_) continue;
      e.type = static_cast<uint8_t>(IFTODT(ch.mode));
      out.push_back(std::move(e));
    }
    lists_[d] = std::move(out);
  }
  if (lost_found_) {
    std::vector<Dirent>& lf = lists_[lost_found_];
    if (!rebuild_.count(lost_found_)) {
      lf = read_dir(lost_found_);
      rebuild_.insert(lost_found_);
    }
    std::unordered_set<std::string> names;
    for (const Dirent& e : lf) names.insert(e.name);
    for (uint64_t ino : reconnect) {
      std::string name = fmt::format("#{}", ino);
      for (int k = 1; names.count(name); ++k) name = fmt::format("#{}.{}", ino, k);
      names.insert(name);
      lf.push_back(Dirent{ino, static_cast<uint8_t>(IFTODT(info(ino).mode)), name});
      if (is_dir(info(ino).mode)) keep_[ino] = lost_found_;
      else ++links_[ino];
      note(fmt::format("inode {}: reconnected as /lost+found/{}", ino, name), true);
    }
  }
}

int Repair::write_tree(uint64_t owner, uint64_t tag, ClaimKind kind,
                       const std::vector<std::pair<uint64_t, std::string>>& kv, uint64_t* root) {
  WriteStore store(c_.dev_, [&](uint64_t hint, uint64_t* b) { return alloc_one(hint, b); });
  btree::BTree tree(store, 0, tag);
  int r = 0;
  for (size_t i = 0; i < kv.size() && r == 0; ++i) r = tree.insert(kv[i].first, kv[i].second, true);
  if (r < 0) {  // nothing was written: the blocks are free again
    for (uint64_t b : store.blocks()) c_.taken_.clear(b);
    return r;
  }
  if ((r = store.flush()) < 0) return r;
  for (uint64_t b : store.blocks()) {
    add_claim(b, 1, owner, kind);
    ++writes_;
  }
  *root = tree.root();
  return 0;
}

int Repair::write_directories() {
  for (uint64_t d : rebuild_) {
    std::map<uint64_t, std::vector<Dirent>> buckets;
    for (const Dirent& e : lists_[d]) {
      std::vector<Dirent>& b = buckets[name_hash(e.name)];
      b.push_back(e);
      if (encode_bucket(b).size() > btree::kMaxValue) b.pop_back();  // cannot be stored
    }
    std::vector<std::pair<uint64_t, std::string>> kv;
    uint64_t n = 0;
    for (const auto& [h, b] : buckets) {
      kv.emplace_back(h, encode_bucket(b));
      n += b.size();
    }
    lists_[d].resize(n);  // only the count matters from here on
    std::vector<size_t> old;  // the old nodes: free once the new tree is written
    if (auto it = c_.claims_of_.find(d); it != c_.claims_of_.end())
      for (size_t i : it->second)
        if (c_.claims_[i].kind == ClaimKind::kDirNode) old.push_back(i);
    uint64_t root = 0;
    int r = write_tree(d, tree_tag(kTagDir, d), ClaimKind::kDirNode, kv, &root);
    if (r == -ENOSPC && !old.empty()) {
      // No room beside the old tree: its entries are in memory, so its blocks can take the
      // new one (a crash during this write would lose the directory to /lost+found).
      release(d, kind_bit(ClaimKind::kDirNode));
      old.clear();
      r = write_tree(d, tree_tag(kTagDir, d), ClaimKind::kDirNode, kv, &root);
    }
    if (r == -ENOSPC) {
      note(fmt::format("inode {}: no free space to rebuild the directory", d), false);
      continue;
    }
    if (r < 0) return r;
    for (size_t i : old) c_.claims_[i].dead = true;
    note(fmt::format("inode {}: directory tree rebuilt ({} entr{})", d, n, n == 1 ? "y" : "ies"), true);
    Patch& p = patch_[d];
    p.dir = true;
    p.dir_root = root;
  }
  return 0;
}

int Repair::write_extents() {
  for (uint64_t ino : c_.order_) {
    InodeInfo& i = c_.inodes_[ino];
    if (!survives(ino) || !i.fix_extents || is_dir(i.mode)) continue;
    std::vector<Extent>& list = c_.ext_[ino];
    kill(ino, kind_bit(ClaimKind::kData) | kind_bit(ClaimKind::kExtentNode));
    for (const Extent& e : list) add_claim(e.physical, e.len, ino, ClaimKind::kData);
    Patch& p = patch_[ino];
    p.extents = true;
    if (list.size() <= kInlineExtents) {
      p.inline_ext = list;
      continue;
    }
    std::vector<std::pair<uint64_t, std::string>> kv;
    for (const Extent& e : list) {
      std::string v(kExtentSize, '\0');
      encode_extent(e, v.data());
      kv.emplace_back(e.last(), std::move(v));
    }
    int r = write_tree(ino, tree_tag(kTagExtent, ino), ClaimKind::kExtentNode, kv, &p.ext_root);
    if (r == -ENOSPC) {
      note(fmt::format("inode {}: no free space for its extent tree: cleared", ino), true);
      clear_inode(ino);
      patch_.erase(ino);
      continue;
    }
    if (r < 0) return r;
  }
  return 0;
}

int Repair::write_xattrs() {
  for (uint64_t ino : c_.order_) {
    InodeInfo& i = c_.inodes_[ino];
    if (!survives(ino) || !i.fix_xattrs) continue;
    const std::string& blob = c_.xattrs_[ino];
    kill(ino, kind_bit(ClaimKind::kXattr));
    note(blob.empty() ? fmt::format("inode {}: xattrs dropped", ino)
                      : fmt::format("inode {}: xattrs rewritten ({} bytes)", ino, blob.size()),
         true);
    Patch& p = patch_[ino];
    p.xattrs = true;
    if (blob.size() <= kInlineXattrSize) {
      p.inline_xattrs = blob;
      continue;
    }
    const size_t n = (blob.size() + kXattrPayload - 1) / kXattrPayload;
    std::vector<uint64_t> blocks;
    for (size_t k = 0; k < n; ++k) {
      uint64_t b;
      if (alloc_one(0, &b) < 0) break;
      blocks.push_back(b);
    }
    if (blocks.size() < n) {
      note(fmt::format("inode {}: no free space for its xattr blocks: xattrs dropped", ino), true);
      p.inline_xattrs.clear();
      continue;
    }
    std::vector<uint8_t> blk(kBlockSize);
    for (size_t k = 0; k < n; ++k) {
      std::fill(blk.begin(), blk.end(), 0);
      XattrBlockHeader h;
      h.ino = ino;
      h.next = k + 1 < n ? blocks[k + 1] : 0;
      h.seq = static_cast<uint32_t>(k);
      h.len = static_cast<uint32_t>(std::min(kXattrPayload, blob.size() - k * kXattrPayload));
      std::memcpy(blk.data() + xb_off::kPayload, blob.data() + k * kXattrPayload, h.len);
      seal_xattr_block(h, blk.data());
      if (int r = write_block(blocks[k], blk.data()); r < 0) return r;
      add_claim(blocks[k], 1, ino, ClaimKind::kXattr);
    }
    p.xattr_block = blocks[0];
  }
  return 0;
}

// ---- 4. records ----

int Repair::write_inodes() {
  // Blocks each inode owns now, and the directories' subdirectory counts.
  std::unordered_map<uint64_t, uint64_t> blocks, subdirs;
  for (const Claim& cl : c_.claims_)
    if (!cl.dead && cl.owner) blocks[cl.owner] += cl.len;
  for (auto [ch, d] : keep_) ++subdirs[d];
  const int64_t now = ::time(nullptr);
  std::unordered_set<uint64_t> made(created_.begin(), created_.end());
  const uint64_t n = sb_.inode_table_blocks;
  std::vector<uint8_t> buf;
  mem::AlignedBuffer chunk(std::min(n, kChunkBlocks) * kBlockSize);
  for (uint64_t i = 0; i < n; i += kChunkBlocks) {
    const uint64_t k = std::min(kChunkBlocks, n - i);
    if (int r = c_.dev_.read((sb_.inode_table_start + i) * kBlockSize, chunk.data(), k * kBlockSize); r < 0) return r;
    for (uint64_t blk = 0; blk < k; ++blk) {
      bool dirty = false;
      for (uint64_t s = 0; s < kInodesPerBlock; ++s) {
        const uint64_t ino = (i + blk) * kInodesPerBlock + s + 1;
        if (ino > sb_.inode_count || !survives(ino)) continue;
        char* slot = chunk.data() + blk * kBlockSize + s * kInodeSize;
        const InodeInfo& inf = c_.inodes_[ino];
        DiskInode in, old;
        std::string why;
        if (made.count(ino)) {
          in.mode = inf.mode;
          in.atime = in.mtime = in.ctime = in.btime = Timespec{now, 0};
          in.generation = sb_.next_generation++;
        } else if (decode_inode(ino, slot, &in, &why) < 0) {
          continue;  // it decoded in the check
        } else {
          old = in;
        }
        const uint32_t type = in.mode & S_IFMT;
        if (auto it = patch_.find(ino); it != patch_.end()) {
          const Patch& p = it->second;
          if (p.extents) {
            in.inline_data.fill(0);
            in.n_inline_extents = 0;
            in.flags &= ~kInodeExtentTree;
            in.tree_root = p.ext_root;
            if (p.ext_root) {
              in.flags |= kInodeExtentTree;
            } else {
              for (size_t e = 0; e < p.inline_ext.size(); ++e)
                encode_extent(p.inline_ext[e], in.inline_data.data() + e * kExtentSize);
              in.n_inline_extents = static_cast<uint16_t>(p.inline_ext.size());
            }
          }
          if (p.xattrs) {
            in.inline_xattr.fill(0);
            in.xattr_block = p.xattr_block;
            in.xattr_inline_len = static_cast<uint16_t>(p.xattr_block ? 0 : p.inline_xattrs.size());
            std::memcpy(in.inline_xattr.data(), p.inline_xattrs.data(), in.xattr_inline_len);
          }
          if (p.dir) in.tree_root = p.dir_root;
        }
        if (type == S_IFDIR) {
          in.flags = 0;
          in.n_inline_extents = 0;
          in.nlink = static_cast<uint32_t>(2 + subdirs[ino]);
          in.parent = ino == kRootIno ? kRootIno : keep_.count(ino) ? keep_[ino] : in.parent;
          if (lists_.count(ino)) in.dir_entries = lists_[ino].size();
          else in.dir_entries = inf.entries_found;
          if (in.tree_root == 0) in.dir_entries = 0;
        } else {
          in.dir_entries = 0;
          in.parent = 0;
          in.nlink = static_cast<uint32_t>(links_[ino]);
          if (type == S_IFREG) {
            in.flags &= ~kInodeInlineData;
            if (inf.fix_size > in.size) in.size = std::min<uint64_t>(inf.fix_size, kMaxFileSize);
          } else if (type != S_IFLNK) {
            in.flags = 0;
            in.n_inline_extents = 0;
            in.tree_root = 0;
            in.size = 0;
          }
        }
        in.blocks = blocks[ino];
        in.orphan_next = 0;
        if (made.count(ino) || !(in == old)) {
          encode_inode(ino, in, slot);
          dirty = true;
        }
      }
      if (dirty)
        if (int r = write_block(sb_.inode_table_start + i + blk, chunk.data() + blk * kBlockSize); r < 0) return r;
    }
  }
  return 0;
}

// ---- 5. bitmaps and superblocks ----

int Repair::write_bitmaps() {
  std::vector<uint8_t> blk(kBlockSize);
  uint64_t used_blocks = 0, used_inodes = 0;
  BitSet owned;
  owned.resize(sb_.block_count);
  for (const Claim& cl : c_.claims_)
    if (!cl.dead)
      for (uint64_t b = cl.start; b < cl.start + cl.len; ++b) owned.set(b);
  struct Which {
    BitmapKind kind;
    uint64_t start, blocks, items;
    std::vector<uint8_t>* bits;
    std::vector<bool>* ok;
    std::function<bool(uint64_t)> on;
    uint64_t* used;
  };
  const Which all[] = {
      {BitmapKind::kBlocks, sb_.block_bitmap_start, sb_.block_bitmap_blocks, sb_.block_count, &c_.bbits_, &c_.bb_ok_,
       [&](uint64_t b) { return owned.test(b); }, &used_blocks},
      {BitmapKind::kInodes, sb_.inode_bitmap_start, sb_.inode_bitmap_blocks, sb_.inode_count, &c_.ibits_, &c_.ib_ok_,
       [&](uint64_t i) { return survives(i + 1); }, &used_inodes},
  };
  for (const Which& w : all) {
    for (uint64_t i = 0; i < w.blocks; ++i) {
      std::fill(blk.begin(), blk.end(), 0);
      uint8_t* bits = bitmap_bits(blk.data());
      for (uint64_t j = 0; j < kBitsPerBitmapBlock; ++j) {
        const uint64_t item = i * kBitsPerBitmapBlock + j;
        const bool in_range = item < w.items;
        if (!in_range || w.on(item)) {
          bits[j / 8] = static_cast<uint8_t>(bits[j / 8] | (1u << (j % 8)));
          if (in_range) ++*w.used;
        }
      }
      if ((*w.ok)[i] && std::memcmp(bits, w.bits->data() + i * kBitmapBytes, kBitmapBytes) == 0) continue;
      seal_bitmap_block(blk.data(), w.kind, static_cast<uint32_t>(i));
      if (int r = write_block(w.start + i, blk.data()); r < 0) return r;
    }
  }
  Superblock out = sb_;
  out.free_blocks = sb_.block_count - used_blocks;
  out.free_inodes = sb_.inode_count - used_inodes;
  out.orphan_head = 0;
  out.state = kStateClean;
  out.incompat &= ~kIncompatRecover;  // the journal was replayed (or made empty) before the check
  std::vector<uint8_t> now(kBlockSize);
  encode_superblock(out, now.data());
  mem::AlignedBuffer disk(kBlockSize);
  bool differs = false;
  for (uint64_t at : {uint64_t{0}, sb_.backup_block()})
    differs = differs || c_.dev_.read(at * kBlockSize, disk.data(), kBlockSize) < 0 ||
              std::memcmp(disk.data(), now.data(), kBlockSize) != 0;
  if (!differs) return 0;
  if (int r = write_block(sb_.backup_block(), now.data()); r < 0) return r;
  return write_block(0, now.data());
}

}  // namespace chainfs::fsck
