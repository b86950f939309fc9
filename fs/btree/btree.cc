#include "fs/btree/btree.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fs/btree/node.h"
#include "base/result.h"

// Mutations are computed in memory first (new node images and the blocks they need),
// then written: blocks the split needs are allocated before anything is touched, so an
// allocation failure leaves the tree as it was; new blocks are written before the
// existing nodes that will point to them, and blocks are freed only after every write.

namespace chainfs::btree {
namespace {

using node::ChildEntry;
using node::LeafEntry;
using node::Range;
using Buf = std::unique_ptr<uint8_t[]>;

Buf new_buf() { return std::make_unique_for_overwrite<uint8_t[]>(kBlockSize); }

// One node on the path from the root to a leaf.
struct Step {
  uint64_t blockno = 0;
  Buf buf;
  Range range;
  unsigned idx = 0;  // internal nodes: the child the path continues into
};

struct Write {
  uint64_t blockno;
  Buf buf;
  bool fresh;  // newly allocated: nothing points to it until the other writes land
};

int read_node(BlockStore& store, uint64_t tag, uint64_t blockno, int want_level, Range r, uint8_t* buf,
              std::string* why) {
  if (blockno == 0) {
    if (why) *why = "child block 0";
    return -kCorrupt;
  }
  int rc = store.read_block(blockno, buf);
  if (rc < 0) {
    if (why) *why = "read error " + std::to_string(rc);
    return rc;
  }
  return node::verify(buf, tag, want_level, r, why);
}

// Fills path[d+1 ..] down to the leaf, following key from path[d] (already loaded).
int descend(BlockStore& store, uint64_t tag, std::vector<Step>& path, size_t d, uint64_t key) {
  for (; d + 1 < path.size(); ++d) {
    const uint8_t* b = path[d].buf.get();
    const unsigned i = node::internal_find(b, key);
    path[d].idx = i;
    Step& next = path[d + 1];
    next.blockno = node::internal_child(b, i);
    next.range = node::child_range(b, i, path[d].range);
    int rc = read_node(store, tag, next.blockno, static_cast<int>(node::level(b)) - 1, next.range, next.buf.get(),
                       nullptr);
    if (rc < 0) return rc;
  }
  return 0;
}

// Loads the path from root to the leaf whose range holds key. REQUIRES: root != 0.
int load_path(BlockStore& store, uint64_t tag, uint64_t root, uint64_t key, std::vector<Step>& path) {
  Buf b = new_buf();
  int rc = read_node(store, tag, root, -1, Range{}, b.get(), nullptr);
  if (rc < 0) return rc;
  path.resize(node::level(b.get()) + 1);
  path[0].blockno = root;
  path[0].buf = std::move(b);
  for (size_t i = 1; i < path.size(); ++i) path[i].buf = new_buf();
  return descend(store, tag, path, 0, key);
}

std::vector<LeafEntry> decode_leaf(const uint8_t* b) {
  std::vector<LeafEntry> e(node::count(b));
  for (unsigned i = 0; i < e.size(); ++i) e[i] = {node::leaf_key(b, i), node::leaf_value(b, i)};
  return e;
}

std::vector<ChildEntry> decode_internal(const uint8_t* b) {
  std::vector<ChildEntry> e(node::count(b));
  for (unsigned i = 0; i < e.size(); ++i) e[i] = {node::internal_key(b, i), node::internal_child(b, i)};
  return e;
}

size_t leaf_bytes(const LeafEntry* e, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += node::leaf_entry_bytes(e[i].value.size());
  return total;
}

// Where to cut an overfull leaf: the cut that balances bytes best with both halves fitting.
// Entries are at most kMaxValue + 12 bytes and the total at most kSpace + that, so a cut
// always exists (the fitting window is wider than one entry).
size_t leaf_split_point(const std::vector<LeafEntry>& e) {
  const size_t total = leaf_bytes(e.data(), e.size());
  size_t left = 0, best = 1, best_diff = SIZE_MAX;
  for (size_t k = 1; k < e.size(); ++k) {
    left += node::leaf_entry_bytes(e[k - 1].value.size());
    if (left > node::kSpace) break;
    if (total - left > node::kSpace) continue;
    const size_t diff = left * 2 > total ? left * 2 - total : total - left * 2;
    if (diff < best_diff) best_diff = diff, best = k;
  }
  return best;
}

Buf encode_leaf(uint64_t tag, const LeafEntry* e, size_t n) {
  Buf b = new_buf();
  node::encode_leaf(b.get(), tag, e, n);
  return b;
}

Buf encode_internal(uint64_t tag, unsigned level, const ChildEntry* e, size_t n) {
  Buf b = new_buf();
  node::encode_internal(b.get(), tag, level, e, n);
  return b;
}

// Writes fresh blocks first, then the rewritten ones. On a failed write of a fresh block
// nothing reachable has changed yet, so the caller can undo by freeing the fresh blocks.
int write_all(BlockStore& store, std::vector<Write>& writes, bool* touched_existing) {
  *touched_existing = false;
  for (auto& w : writes)
    if (w.fresh) {
      int rc = store.write_block(w.blockno, w.buf.get());
      if (rc < 0) return rc;
    }
  for (auto& w : writes)
    if (!w.fresh) {
      *touched_existing = true;
      int rc = store.write_block(w.blockno, w.buf.get());
      if (rc < 0) return rc;
    }
  return 0;
}

// The neighbour of p's child p.idx to merge with: the right one, else the left one
// (p.idx itself when p has a single child).
unsigned sibling_index(const Step& p) {
  if (p.idx + 1 < node::count(p.buf.get())) return p.idx + 1;
  return p.idx > 0 ? p.idx - 1 : p.idx;
}

struct Walker {
  BlockStore& store;
  uint64_t tag;
  const std::function<void(uint64_t)>& on_block;
  std::string* why;
  std::unordered_set<uint64_t> seen;
  std::vector<Buf> bufs;  // one per depth
  // Set: report bad nodes here and keep walking; first_error keeps the result.
  const std::function<void(uint64_t, const std::string&)>* on_corrupt = nullptr;
  int first_error = 0;

  int fail(uint64_t blockno, int rc, const std::string& what) {
    if (on_corrupt) {
      if (*on_corrupt) (*on_corrupt)(blockno, what);
      if (first_error == 0) first_error = rc;
      return 0;
    }
    if (why) *why = what;
    return rc;
  }

  int walk(uint64_t blockno, int want_level, Range r, size_t depth) {
    if (bufs.size() <= depth) bufs.push_back(new_buf());
    uint8_t* b = bufs[depth].get();
    std::string reason;
    const bool explain = why || on_corrupt;
    int rc = read_node(store, tag, blockno, want_level, r, b, explain ? &reason : nullptr);
    if (rc < 0) {
      return fail(blockno, rc,
                  explain ? "block " + std::to_string(blockno) + " at depth " + std::to_string(depth) + ": " + reason
                          : std::string());
    }
    if (!seen.insert(blockno).second)
      return fail(blockno, -kCorrupt, "block " + std::to_string(blockno) + " is referenced twice");
    if (on_block) on_block(blockno);
    const unsigned level = node::level(b);
    if (level == 0) return 0;
    const unsigned n = node::count(b);
    for (unsigned i = 0; i < n; ++i) {
      // Re-derive from the buffer each time: deeper calls reuse other buffers only.
      b = bufs[depth].get();
      rc = walk(node::internal_child(b, i), static_cast<int>(level) - 1, node::child_range(b, i, r), depth + 1);
      if (rc < 0) return rc;
    }
    return 0;
  }
};

}  // namespace

BTree::BTree(BlockStore& store, uint64_t root, uint64_t tag) : store_(store), root_(root), tag_(tag) {}

int BTree::lookup(uint64_t key, std::string* value) {
  if (root_ == 0) return -ENOENT;
  std::vector<Step> path;
  int rc = load_path(store_, tag_, root_, key, path);
  if (rc < 0) return rc;
  const uint8_t* leaf = path.back().buf.get();
  const unsigned i = node::leaf_lower_bound(leaf, key);
  if (i == node::count(leaf) || node::leaf_key(leaf, i) != key) return -ENOENT;
  if (value) value->assign(node::leaf_value(leaf, i));
  return 0;
}

int BTree::insert(uint64_t key, std::string_view value, bool replace) {
  if (value.size() > kMaxValue) return -E2BIG;
  if (root_ == 0) {
    uint64_t blockno = 0;
    int rc = store_.alloc_block(0, &blockno);
    if (rc < 0) return rc;
    const LeafEntry e{key, value};
    Buf b = encode_leaf(tag_, &e, 1);
    rc = store_.write_block(blockno, b.get());
    if (rc < 0) {
      store_.free_block(blockno);
      return rc;
    }
    root_ = blockno;
    return 0;
  }

  std::vector<Step> path;
  int rc = load_path(store_, tag_, root_, key, path);
  if (rc < 0) return rc;
  const size_t h = path.size() - 1;
  Step& leaf = path[h];
  std::vector<LeafEntry> e = decode_leaf(leaf.buf.get());
  const size_t pos = node::leaf_lower_bound(leaf.buf.get(), key);
  const bool exists = pos < e.size() && e[pos].key == key;
  if (exists && !replace) return -EEXIST;
  // Same bytes: nothing to write (saves the owner a dirty block and a journal entry).
  if (exists && e[pos].value == value) return 0;
  if (exists) e[pos].value = value;
  else e.insert(e.begin() + static_cast<ptrdiff_t>(pos), LeafEntry{key, value});

  if (leaf_bytes(e.data(), e.size()) <= node::kSpace) {
    Buf b = encode_leaf(tag_, e.data(), e.size());
    return store_.write_block(leaf.blockno, b.get());
  }

  // The leaf splits; count how many ancestors split with it, and whether the root does.
  size_t need = 1, d = h;
  while (d > 0 && node::count(path[d - 1].buf.get()) + 1 > node::kMaxInternalEntries) ++need, --d;
  if (d == 0) {
    ++need;
    if (node::level(path[0].buf.get()) + 1 > node::kMaxLevel) return -EFBIG;
  }
  std::vector<uint64_t> fresh;
  for (size_t i = 0; i < need; ++i) {
    uint64_t blockno = 0;
    rc = store_.alloc_block(leaf.blockno, &blockno);
    if (rc < 0) {
      for (uint64_t b : fresh) store_.free_block(b);
      return rc;
    }
    fresh.push_back(blockno);
  }

  std::vector<Write> writes;
  size_t used = 0;
  // Appending past the last key of the tree (extent maps, sequential keys) leaves the left
  // node full instead of half empty.
  const bool append = !exists && pos + 1 == e.size() && leaf.range.hi == Range{}.hi;
  const size_t k = append ? e.size() - 1 : leaf_split_point(e);
  writes.push_back({fresh[used], encode_leaf(tag_, e.data() + k, e.size() - k), true});
  writes.push_back({leaf.blockno, encode_leaf(tag_, e.data(), k), false});
  uint64_t sep = e[k].key, new_child = fresh[used++];
  bool done = false;
  for (d = h; d > 0 && !done; --d) {
    Step& p = path[d - 1];
    const unsigned level = node::level(p.buf.get());
    std::vector<ChildEntry> c = decode_internal(p.buf.get());
    c.insert(c.begin() + p.idx + 1, ChildEntry{sep, new_child});
    if (c.size() <= node::kMaxInternalEntries) {
      writes.push_back({p.blockno, encode_internal(tag_, level, c.data(), c.size()), false});
      done = true;
      break;
    }
    const bool app = p.idx + 2 == c.size() && p.range.hi == Range{}.hi;
    const size_t m = app ? c.size() - 1 : c.size() / 2;
    writes.push_back({fresh[used], encode_internal(tag_, level, c.data() + m, c.size() - m), true});
    writes.push_back({p.blockno, encode_internal(tag_, level, c.data(), m), false});
    sep = c[m].key;
    new_child = fresh[used++];
  }
  uint64_t new_root = 0;
  if (!done) {
    const ChildEntry r[2] = {{Range{}.lo, path[0].blockno}, {sep, new_child}};
    new_root = fresh[used++];
    writes.push_back({new_root, encode_internal(tag_, node::level(path[0].buf.get()) + 1, r, 2), true});
  }
  bool touched = false;
  rc = write_all(store_, writes, &touched);
  if (rc < 0) {
    if (!touched)
      for (uint64_t b : fresh) store_.free_block(b);
    return rc;
  }
  if (new_root) root_ = new_root;
  return 0;
}

int BTree::remove(uint64_t key) {
  if (root_ == 0) return -ENOENT;
  std::vector<Step> path;
  int rc = load_path(store_, tag_, root_, key, path);
  if (rc < 0) return rc;
  const size_t h = path.size() - 1;
  Step& leaf = path[h];
  std::vector<LeafEntry> e = decode_leaf(leaf.buf.get());
  const size_t pos = node::leaf_lower_bound(leaf.buf.get(), key);
  if (pos == e.size() || e[pos].key != key) return -ENOENT;
  e.erase(e.begin() + static_cast<ptrdiff_t>(pos));

  std::vector<Write> writes;
  std::vector<uint64_t> to_free;
  bool root_emptied = false, root_rewritten = false;
  // drop >= 0: the parent of the node being finished loses its entry at index drop.
  long drop = -1;
  Buf sibling = new_buf();
  if (e.empty()) {
    to_free.push_back(leaf.blockno);
    if (h == 0) root_emptied = true;
    else drop = path[h - 1].idx;
  } else if (h > 0 && leaf_bytes(e.data(), e.size()) < node::kSpace / 4) {
    // Underfull: merge with a sibling under the same parent when both fit in one node.
    const Step& p = path[h - 1];
    const unsigned j = sibling_index(p);
    bool merged = false;
    if (j != p.idx && read_node(store_, tag_, node::internal_child(p.buf.get(), j), 0,
                                node::child_range(p.buf.get(), j, p.range), sibling.get(), nullptr) == 0) {
      std::vector<LeafEntry> s = decode_leaf(sibling.get());
      if (leaf_bytes(e.data(), e.size()) + leaf_bytes(s.data(), s.size()) <= node::kSpace) {
        const unsigned left = std::min(j, p.idx), right = left + 1;
        std::vector<LeafEntry>& lo = j < p.idx ? s : e;
        std::vector<LeafEntry>& hi = j < p.idx ? e : s;
        lo.insert(lo.end(), hi.begin(), hi.end());
        writes.push_back({node::internal_child(p.buf.get(), left), encode_leaf(tag_, lo.data(), lo.size()), false});
        to_free.push_back(node::internal_child(p.buf.get(), right));
        drop = right;
        merged = true;
      }
    }
    if (!merged) writes.push_back({leaf.blockno, encode_leaf(tag_, e.data(), e.size()), false});
  } else {
    writes.push_back({leaf.blockno, encode_leaf(tag_, e.data(), e.size()), false});
  }

  // Propagate the lost child upward; p = path[d - 1] is the node losing an entry.
  for (size_t d = h; d > 0 && drop >= 0; --d) {
    const Step& p = path[d - 1];
    const bool is_root = d - 1 == 0;
    const unsigned level = node::level(p.buf.get());
    std::vector<ChildEntry> c = decode_internal(p.buf.get());
    const uint64_t first_key = c[0].key;
    c.erase(c.begin() + drop);
    drop = -1;
    if (c.empty()) {
      to_free.push_back(p.blockno);
      if (is_root) root_emptied = true;
      else drop = path[d - 2].idx;
      continue;
    }
    // Child 0's separator is the node's own lower bound; it stays when child 0 goes.
    c[0].key = first_key;
    if (!is_root && c.size() < node::kMaxInternalEntries / 4) {
      const Step& g = path[d - 2];
      const unsigned j = sibling_index(g);
      if (j != g.idx &&
          read_node(store_, tag_, node::internal_child(g.buf.get(), j), static_cast<int>(level),
                    node::child_range(g.buf.get(), j, g.range), sibling.get(), nullptr) == 0) {
        std::vector<ChildEntry> s = decode_internal(sibling.get());
        if (c.size() + s.size() <= node::kMaxInternalEntries) {
          const unsigned left = std::min(j, g.idx), right = left + 1;
          std::vector<ChildEntry>& lo = j < g.idx ? s : c;
          std::vector<ChildEntry>& hi = j < g.idx ? c : s;
          // The right node's first child starts at the right node's lower bound, which
          // its own first separator may not record.
          hi[0].key = node::internal_key(g.buf.get(), right);
          lo.insert(lo.end(), hi.begin(), hi.end());
          writes.push_back(
              {node::internal_child(g.buf.get(), left), encode_internal(tag_, level, lo.data(), lo.size()), false});
          to_free.push_back(node::internal_child(g.buf.get(), right));
          drop = right;
          continue;
        }
      }
    }
    writes.push_back({p.blockno, encode_internal(tag_, level, c.data(), c.size()), false});
    root_rewritten = is_root;
  }

  bool touched = false;
  rc = write_all(store_, writes, &touched);
  if (rc < 0) return rc;
  for (uint64_t b : to_free) store_.free_block(b);
  if (root_emptied) {
    root_ = 0;
    return 0;
  }
  if (!root_rewritten) return 0;
  // A root left with a single child hands the root role to that child. The child is
  // verified (one level down) before the root is freed, so a corrupt pointer can neither
  // loop here nor leave root() naming garbage.
  // The removal itself is done; a node that fails here is left for the next reader of
  // it to report, with the tree as it stands still valid.
  if (read_node(store_, tag_, root_, -1, Range{}, sibling.get(), nullptr) < 0) return 0;
  Buf child_buf = new_buf();
  while (node::level(sibling.get()) > 0 && node::count(sibling.get()) == 1) {
    const uint64_t child = node::internal_child(sibling.get(), 0);
    if (read_node(store_, tag_, child, static_cast<int>(node::level(sibling.get())) - 1, Range{}, child_buf.get(),
                  nullptr) < 0)
      return 0;
    store_.free_block(root_);
    root_ = child;
    std::swap(sibling, child_buf);
  }
  return 0;
}

int BTree::scan(uint64_t start, const std::function<bool(uint64_t, std::string_view)>& fn) {
  if (root_ == 0) return 0;
  std::vector<Step> path;
  int rc = load_path(store_, tag_, root_, start, path);
  if (rc < 0) return rc;
  const size_t h = path.size() - 1;
  unsigned i = node::leaf_lower_bound(path[h].buf.get(), start);
  for (;;) {
    const uint8_t* leaf = path[h].buf.get();
    for (const unsigned n = node::count(leaf); i < n; ++i)
      if (!fn(node::leaf_key(leaf, i), node::leaf_value(leaf, i))) return 0;
    // Next leaf: climb to the deepest ancestor with a child to the right, then go down
    // its leftmost edge.
    size_t d = h;
    while (d > 0 && path[d - 1].idx + 1 >= node::count(path[d - 1].buf.get())) --d;
    if (d == 0) return 0;
    Step& p = path[d - 1];
    const Range r = node::child_range(p.buf.get(), p.idx + 1, p.range);
    rc = descend(store_, tag_, path, d - 1, r.lo);
    if (rc < 0) return rc;
    i = 0;
  }
}

int BTree::destroy() {
  if (root_ == 0) return 0;
  std::vector<uint64_t> blocks;
  const std::function<void(uint64_t)> collect = [&](uint64_t b) { blocks.push_back(b); };
  // Verify the whole tree before freeing anything: freeing through a corrupt pointer
  // could release a block that belongs to someone else.
  Walker w{store_, tag_, collect, nullptr, {}, {}};
  int rc = w.walk(root_, -1, Range{}, 0);
  if (rc < 0) return rc;
  for (uint64_t b : blocks) store_.free_block(b);
  root_ = 0;
  return 0;
}

int BTree::check(const std::function<void(uint64_t)>& on_block, std::string* why) {
  if (root_ == 0) return 0;
  Walker w{store_, tag_, on_block, why, {}, {}};
  return w.walk(root_, -1, Range{}, 0);
}

int BTree::check_all(const std::function<void(uint64_t)>& on_block,
                     const std::function<void(uint64_t, const std::string&)>& on_corrupt) {
  if (root_ == 0) return 0;
  Walker w{store_, tag_, on_block, nullptr, {}, {}};
  w.on_corrupt = &on_corrupt;
  int rc = w.walk(root_, -1, Range{}, 0);
  return rc < 0 ? rc : w.first_error;
}

}  // namespace chainfs::btree
