#include "fs/meta/extent_map.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include "fs/btree/btree.h"

namespace chainfs::fs {

using format::kExtentSize;
using format::kInlineExtents;

namespace {
uint64_t tag_of(uint64_t ino) { return format::tree_tag(format::kTagExtent, ino); }
std::string encode(const Extent& e) {
  std::string s(kExtentSize, '\0');
  format::encode_extent(e, s.data());
  return s;
}
}  // namespace

int ExtentMap::check(const Extent& e, uint64_t key) const {
  if (format::check_extent(e, v_.data_start(), v_.block_count()) < 0 || key != e.last()) {
    log_corrupt(ino_, in_.tree_root, "bad extent");
    return -EUCLEAN;
  }
  return 0;
}

int ExtentMap::inline_load(Extent* ex) const {
  int n = in_.n_inline_extents;
  for (int i = 0; i < n; ++i) {
    ex[i] = format::decode_extent(in_.inline_data.data() + i * kExtentSize);
    if (check(ex[i], ex[i].last()) < 0) return -EUCLEAN;
    if (i > 0 && ex[i].logical < ex[i - 1].end()) {
      log_corrupt(ino_, 0, "inline extents overlap");
      return -EUCLEAN;
    }
  }
  return n;
}

void ExtentMap::inline_store(const Extent* ex, int n) {
  in_.inline_data.fill(0);
  for (int i = 0; i < n; ++i) format::encode_extent(ex[i], in_.inline_data.data() + i * kExtentSize);
  in_.n_inline_extents = static_cast<uint16_t>(n);
}

int ExtentMap::find(uint64_t lblk, Extent* out, bool* found) {
  *found = false;
  if (!tree()) {
    Extent ex[kInlineExtents];
    int n = inline_load(ex);
    if (n < 0) return n;
    for (int i = 0; i < n; ++i)
      if (ex[i].last() >= lblk) {
        *out = ex[i];
        *found = true;
        return 0;
      }
    return 0;
  }
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  int bad = 0;
  int r = t.scan(lblk, [&](uint64_t key, std::string_view val) {
    if (val.size() != kExtentSize) {
      bad = -EUCLEAN;
      return false;
    }
    *out = format::decode_extent(val.data());
    bad = check(*out, key);
    *found = bad == 0;
    return false;
  });
  if (r < 0) {
    if (r == -EUCLEAN) log_corrupt(ino_, in_.tree_root, "extent tree node fails its checks");
    return r;
  }
  if (bad < 0) log_corrupt(ino_, in_.tree_root, "bad extent record");
  return bad;
}

int ExtentMap::to_tree(const Extent* ex, int n) {
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, 0, tag_of(ino_));
  for (int i = 0; i < n; ++i) {
    int r = t.insert(ex[i].last(), encode(ex[i]), false);
    if (r < 0) {
      t.destroy();
      return r;
    }
  }
  in_.flags |= format::kInodeExtentTree;
  in_.tree_root = t.root();
  inline_store(nullptr, 0);
  return 0;
}

int ExtentMap::insert(const Extent& e) {
  if (!tree()) {
    Extent ex[kInlineExtents + 1];
    int n = inline_load(ex);
    if (n < 0) return n;
    int pos = 0;
    while (pos < n && ex[pos].logical < e.logical) ++pos;
    std::copy_backward(ex + pos, ex + n, ex + n + 1);
    ex[pos] = e;
    ++n;
    if (n <= static_cast<int>(kInlineExtents)) {
      inline_store(ex, n);
      return 0;
    }
    return to_tree(ex, n);
  }
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  int r = t.insert(e.last(), encode(e), false);
  in_.tree_root = t.root();
  if (r == -EEXIST) {
    log_corrupt(ino_, in_.tree_root, "overlapping extents");
    return -EUCLEAN;
  }
  return r;
}

int ExtentMap::erase(const Extent& e) {
  if (!tree()) {
    Extent ex[kInlineExtents];
    int n = inline_load(ex);
    if (n < 0) return n;
    auto it = std::find(ex, ex + n, e);
    if (it == ex + n) return -EUCLEAN;
    std::copy(it + 1, ex + n, it);
    inline_store(ex, n - 1);
    return 0;
  }
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  int r = t.remove(e.last());
  in_.tree_root = t.root();
  if (r < 0) return r == -ENOENT ? -EUCLEAN : r;
  if (in_.tree_root == 0) in_.flags &= ~format::kInodeExtentTree;  // empty: back to inline
  return 0;
}

int ExtentMap::insert_merge(const Extent& e) {
  if (e.logical > 0) {
    Extent prev;
    bool found = false;
    int r = find(e.logical - 1, &prev, &found);
    if (r < 0) return r;
    if (found && prev.end() == e.logical && prev.physical + prev.len == e.physical &&
        prev.flags == e.flags && uint64_t{prev.len} + e.len <= format::kMaxExtentBlocks) {
      Extent merged = prev;
      merged.len += e.len;
      // Erase then insert: in a tree the key (last block) changes.
      r = erase(prev);
      if (r < 0) return r;
      r = insert(merged);
      if (r < 0) insert(prev);  // best effort: keep the old mapping
      return r;
    }
  }
  return insert(e);
}

int ExtentMap::punch(uint64_t first, uint64_t end) {
  while (first < end) {
    Extent e;
    bool found = false;
    int r = find(first, &e, &found);
    if (r < 0) return r;
    if (!found || e.logical >= end) break;
    r = erase(e);
    if (r < 0) return r;
    uint64_t cut_from = std::max(first, e.logical), cut_to = std::min(end, e.end());
    if (e.logical < cut_from) {
      Extent left = e;
      left.len = static_cast<uint32_t>(cut_from - e.logical);
      if ((r = insert(left)) < 0) return r;
    }
    if (cut_to < e.end()) {
      Extent right = e;
      right.logical = cut_to;
      right.physical = e.physical + (cut_to - e.logical);
      right.len = static_cast<uint32_t>(e.end() - cut_to);
      if ((r = insert(right)) < 0) return r;
    }
    uint64_t n = cut_to - cut_from;
    v_.balloc.free(e.physical + (cut_from - e.logical), n);
    in_.blocks -= std::min(in_.blocks, n);
    first = cut_to;
  }
  return 0;
}

int ExtentMap::for_each(uint64_t first, uint64_t end, const std::function<bool(const Extent&)>& fn) {
  while (first < end) {
    Extent e;
    bool found = false;
    int r = find(first, &e, &found);
    if (r < 0) return r;
    if (!found || e.logical >= end) return 0;
    if (!fn(e)) return 0;
    first = e.end();
  }
  return 0;
}

int ExtentMap::destroy() {
  int r = punch(0, format::kMaxFileSize / kBlockSize);
  if (r < 0) return r;
  if (tree()) {
    TreeStore ts(v_, &in_.blocks);
    btree::BTree t(ts, in_.tree_root, tag_of(ino_));
    r = t.destroy();
    in_.tree_root = 0;
    in_.flags &= ~format::kInodeExtentTree;
  }
  return r;
}

int ExtentMap::count(uint64_t* n) {
  *n = 0;
  return for_each(0, format::kMaxFileSize / kBlockSize, [&](const Extent&) {
    ++*n;
    return true;
  });
}

}  // namespace chainfs::fs
