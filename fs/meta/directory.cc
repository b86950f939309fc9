#include "fs/meta/directory.h"

#include <cerrno>
#include <string>

#include "fs/btree/btree.h"

namespace chainfs::fs {

namespace {
uint64_t tag_of(uint64_t ino) { return format::tree_tag(format::kTagDir, ino); }
}  // namespace

int Directory::load_bucket(uint64_t hash, std::vector<format::Dirent>* bucket) {
  bucket->clear();
  if (in_.tree_root == 0) return 0;
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  std::string val;
  int r = t.lookup(hash, &val);
  if (r == -ENOENT) return 0;
  if (r == 0 && format::decode_bucket(val, bucket) < 0) r = -EUCLEAN;
  if (r == -EUCLEAN) log_corrupt(ino_, in_.tree_root, "directory block fails its checks");
  return r;
}

int Directory::store_bucket(uint64_t hash, const std::vector<format::Dirent>& bucket) {
  TreeStore ts(v_, &in_.blocks, v_.data_start());
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  int r = bucket.empty() ? t.remove(hash) : t.insert(hash, format::encode_bucket(bucket), true);
  in_.tree_root = t.root();
  if (r == -E2BIG) r = -ENOSPC;  // a bucket of colliding long names that no longer fits
  return r;
}

int Directory::lookup(std::string_view name, format::Dirent* out) {
  std::vector<format::Dirent> b;
  int r = load_bucket(format::name_hash(name), &b);
  if (r < 0) return r;
  for (auto& d : b)
    if (d.name == name) {
      *out = std::move(d);
      return 0;
    }
  return -ENOENT;
}

int Directory::add(std::string_view name, uint64_t ino, uint8_t type) {
  uint64_t h = format::name_hash(name);
  std::vector<format::Dirent> b;
  int r = load_bucket(h, &b);
  if (r < 0) return r;
  for (auto& d : b)
    if (d.name == name) return -EEXIST;
  b.push_back(format::Dirent{ino, type, std::string(name)});
  r = store_bucket(h, b);
  if (r == 0) ++in_.dir_entries;
  return r;
}

int Directory::replace(std::string_view name, uint64_t ino, uint8_t type) {
  uint64_t h = format::name_hash(name);
  std::vector<format::Dirent> b;
  int r = load_bucket(h, &b);
  if (r < 0) return r;
  for (auto& d : b)
    if (d.name == name) {
      d.ino = ino;
      d.type = type;
      return store_bucket(h, b);
    }
  return -ENOENT;
}

int Directory::remove(std::string_view name) {
  uint64_t h = format::name_hash(name);
  std::vector<format::Dirent> b;
  int r = load_bucket(h, &b);
  if (r < 0) return r;
  for (size_t i = 0; i < b.size(); ++i)
    if (b[i].name == name) {
      b.erase(b.begin() + static_cast<long>(i));
      r = store_bucket(h, b);
      if (r == 0 && in_.dir_entries) --in_.dir_entries;
      return r;
    }
  return -ENOENT;
}

int Directory::scan(uint64_t start, const std::function<bool(const format::Dirent&, uint64_t)>& fn) {
  if (in_.tree_root == 0) return 0;
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  int bad = 0;
  std::vector<format::Dirent> b;
  int r = t.scan(start, [&](uint64_t key, std::string_view val) {
    if (format::decode_bucket(val, &b) < 0 || key < format::kFirstNameHash) {
      bad = -EUCLEAN;
      return false;
    }
    for (size_t i = 0; i < b.size(); ++i) {
      // Within a bucket of colliding names the position cannot be expressed in a cookie:
      // resuming mid-bucket restarts the bucket (63-bit collisions are vanishingly rare).
      uint64_t next = i + 1 == b.size() ? key + 1 : key;
      if (!fn(b[i], next)) return false;
    }
    return true;
  });
  if (bad < 0) r = bad;
  if (r == -EUCLEAN) log_corrupt(ino_, in_.tree_root, "directory block fails its checks");
  return r;
}

int Directory::destroy() {
  if (in_.tree_root == 0) return 0;
  TreeStore ts(v_, &in_.blocks);
  btree::BTree t(ts, in_.tree_root, tag_of(ino_));
  int r = t.destroy();
  in_.tree_root = 0;
  return r;
}

}  // namespace chainfs::fs
