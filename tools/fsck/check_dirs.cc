// Pass 2: directory trees and their entries. Pass 3: what needs every entry seen: link
// counts, ".." parents, reachability from the root, the orphan list, inode.blocks.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <dirent.h>
#include <unordered_set>

#include "fs/btree/btree.h"
#include "fs/format/dirent.h"
#include "tools/fsck/checker.h"

namespace chainfs::fsck {

using namespace format;

namespace {
// A name as it can go on one line: printable ASCII kept, the rest as \xNN.
std::string printable(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

const char* type_name(unsigned dtype) {
  switch (dtype) {
    case DT_REG: return "file";
    case DT_DIR: return "directory";
    case DT_LNK: return "symlink";
    case DT_CHR: return "char device";
    case DT_BLK: return "block device";
    case DT_FIFO: return "fifo";
    case DT_SOCK: return "socket";
    default: return "unknown";
  }
}
}  // namespace

void Checker::scan_directories() {
  const uint64_t total = res_.stats.dirs;
  uint64_t done = 0;
  for (uint64_t ino : order_) {
    InodeInfo& info = inodes_[ino];
    if (!info.valid || !S_ISDIR(info.mode)) continue;
    check_directory(ino, info);
    if (++done % 1024 == 0) progress("directories", done, total);
  }
  progress("directories", total, total);
}

void Checker::check_directory(uint64_t ino, InodeInfo& info) {
  // Repair rebuilds the tree from the entries that are right, except for a wrong count.
  auto bad = [&](std::string_view what) {
    problem(fmt::format("inode {}: directory {}", ino, what));
    info.rebuild = true;
  };
  if (info.tree_root == 0) {
    if (info.dir_entries != 0) bad(fmt::format("entry count is {} but it has no tree", info.dir_entries));
    return;
  }
  ReadStore store(dev_, sb_.data_start, sb_.backup_block());
  btree::BTree tree(store, info.tree_root, tree_tag(kTagDir, ino));
  if (!walk_tree(ino, info, store, tree, ClaimKind::kDirNode)) {
    dirs_damaged_ = true;
    info.rebuild = info.tree_bad = true;
    return;
  }
  uint64_t count = 0;
  std::vector<Dirent> bucket;
  int r = tree.scan(0, [&](uint64_t key, std::string_view value) {
    if (decode_bucket(value, &bucket) < 0 || bucket.empty()) {
      bad(fmt::format("entries under hash {:#x} do not decode", key));
      return true;
    }
    for (size_t i = 0; i < bucket.size(); ++i) {
      const Dirent& e = bucket[i];
      const std::string name = printable(e.name);
      auto ebad = [&](std::string_view what) { bad(fmt::format("entry '{}' {}", name, what)); };
      ++count;
      if (name_hash(e.name) != key) ebad(fmt::format("is stored under hash {:#x}, its name hashes to {:#x}", key, name_hash(e.name)));
      for (size_t j = 0; j < i; ++j)
        if (bucket[j].name == e.name) ebad("appears twice");
      if (e.ino > sb_.inode_count) {
        ebad(fmt::format("points to inode {}, past the last inode", e.ino));
        continue;
      }
      auto it = inodes_.find(e.ino);
      if (it == inodes_.end()) {
        ebad(fmt::format("points to free inode {}", e.ino));
        continue;
      }
      InodeInfo& child = it->second;
      ++child.links_found;
      edges_.emplace_back(ino, e.ino);
      if (!child.valid) {
        ebad(fmt::format("points to bad inode {}", e.ino));  // repair removes it with the inode
        continue;
      }
      const unsigned want = IFTODT(child.mode);
      if (e.type != want)
        ebad(fmt::format("has type {} but inode {} is a {}", type_name(e.type), e.ino, type_name(want)));
      if (S_ISDIR(child.mode)) {
        ++info.subdirs_found;
        child.found_in = ino;
      }
    }
    return true;
  });
  if (r < 0) {
    bad(fmt::format("tree at block {} cannot be read: error {}", info.tree_root, r));
    info.damaged = damaged_ = dirs_damaged_ = true;
    info.tree_bad = true;
    return;
  }
  info.entries_found = count;
  if (count != info.dir_entries)
    problem(fmt::format("inode {}: directory entry count is {}, its tree holds {}", ino, info.dir_entries, count));
  if (count == 0) bad("tree is empty but was not freed");
}

void Checker::check_orphans() {
  std::unordered_set<uint64_t> seen;
  for (uint64_t o = sb_.orphan_head; o != 0;) {
    if (o > sb_.inode_count) {
      problem(fmt::format("orphan list: {} is not an inode number", o));
      return;
    }
    auto it = inodes_.find(o);
    if (it == inodes_.end()) {
      problem(fmt::format("orphan list: inode {} is not in use", o));
      return;
    }
    if (!seen.insert(o).second) {
      problem(fmt::format("orphan list: loops back to inode {}", o));
      return;
    }
    InodeInfo& info = it->second;
    if (!info.valid) return;  // reported; its next pointer is unknown
    info.orphan = true;
    if (info.nlink != 0)
      problem(fmt::format("orphan list: inode {} has link count {}", o, info.nlink));
    o = info.orphan_next;
  }
}

void Checker::check_links() {
  // Reachability: directories first (each should have one entry pointing to it), by a walk
  // from the root over directory-to-subdirectory edges.
  std::sort(edges_.begin(), edges_.end());
  std::vector<uint64_t> todo;
  auto root = inodes_.find(kRootIno);
  if (root != inodes_.end() && root->second.valid && S_ISDIR(root->second.mode)) {
    root->second.reachable = true;
    todo.push_back(kRootIno);
  }
  while (!todo.empty()) {
    uint64_t d = todo.back();
    todo.pop_back();
    auto it = std::lower_bound(edges_.begin(), edges_.end(), std::pair<uint64_t, uint64_t>{d, 0});
    for (; it != edges_.end() && it->first == d; ++it) {
      InodeInfo& c = inodes_[it->second];
      if (c.reachable) continue;
      c.reachable = true;
      if (c.valid && S_ISDIR(c.mode)) todo.push_back(it->second);
    }
  }

  uint64_t lost = 0;  // unlinked inodes while some directory could not be read
  for (uint64_t ino : order_) {
    const InodeInfo& info = inodes_[ino];
    auto bad = [&](std::string_view what) { problem(fmt::format("inode {}: {}", ino, what)); };
    if (!info.valid) continue;
    const bool dir = S_ISDIR(info.mode);
    if (ino == kRootIno) {
      if (!dir) continue;
      if (info.parent != kRootIno) bad(fmt::format("root directory's '..' is {}, not itself", info.parent));
      if (info.links_found) bad(fmt::format("root directory has {} entries pointing to it", info.links_found));
      if (info.nlink != 2 + info.subdirs_found)
        bad(fmt::format("link count is {}, should be {} (2 + {} subdirectories)", info.nlink, 2 + info.subdirs_found,
                        info.subdirs_found));
    } else if (info.links_found == 0) {
      if (info.orphan) {
        // Unlinked while open: freed at the next mount. Its count is 0 (checked with the list).
      } else if (info.nlink == 0) {
        problem(fmt::format("inode {}: link count is 0 but it is not on the orphan list", ino));
      } else if (dirs_damaged_) {
        ++lost;
      } else {
        bad(fmt::format("in use (link count {}) but no directory entry points to it (disconnected)", info.nlink));
      }
    } else {
      if (info.orphan)
        problem(fmt::format("inode {}: on the orphan list but still linked from a directory", ino));
      if (dir) {
        if (info.links_found > 1) bad(fmt::format("directory has {} entries pointing to it", info.links_found));
        else if (info.parent != info.found_in)
          bad(fmt::format("directory's '..' is {} but it is in directory {}", info.parent, info.found_in));
        if (info.nlink != 2 + info.subdirs_found)
          bad(fmt::format("link count is {}, should be {} (2 + {} subdirectories)", info.nlink,
                          2 + info.subdirs_found, info.subdirs_found));
        if (!info.reachable) {
          // Up the directories holding its entries: a disconnected one, or round in a loop.
          std::unordered_set<uint64_t> seen{ino};
          uint64_t p = info.found_in;
          bool loop = false;
          while (p && inodes_.count(p) && inodes_[p].links_found && !(loop = !seen.insert(p).second))
            p = inodes_[p].found_in;
          if (loop || p == 0 || !inodes_.count(p))
            bad("directory is not reachable from the root (a loop of directories)");
          else
            bad(fmt::format("directory is not reachable from the root (it is inside disconnected directory {})", p));
        }
      } else if (info.nlink != info.links_found) {
        bad(fmt::format("link count is {}, but {} directory entries point to it", info.nlink, info.links_found));
      }
    }
    if (!info.damaged && info.blocks != info.blocks_found)
      bad(fmt::format("blocks field is {}, but it owns {}", info.blocks, info.blocks_found));
  }
  if (lost)
    problem(fmt::format("inodes: {} in use but no directory entry found points to them (some may be entries of "
                        "the damaged directories above)",
                        lost));
}

}  // namespace chainfs::fsck
