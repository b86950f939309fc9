#include "tools/crashcheck/fs_access.h"

#include <sys/xattr.h>

#include <cerrno>

namespace chainfs::crashcheck {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

namespace {

// Walks the components of path from the root; *out the last one's attributes (the root's
// for an empty path). The lookup references taken are given back.
int walk(fs::Filesystem& fs, const std::vector<std::string>& parts, size_t n, fs::Attr* out) {
  auto a = fs.getattr(fs::kRootIno);
  if (!a) return a.err();
  fs::Attr cur = *a;
  for (size_t i = 0; i < n; ++i) {
    auto r = fs.lookup(cur.ino, parts[i]);
    if (!r) return r.err();
    fs.forget(r->ino, 1);
    cur = *r;
  }
  *out = cur;
  return 0;
}

const fs::Caller kRoot{0, 0};

}  // namespace

FsTarget::~FsTarget() {
  for (int h = 0; h < static_cast<int>(handles_.size()); ++h)
    if (handles_[h]) close(h);
}

int FsTarget::parent_of(const std::string& path, fs::Ino* dir, std::string* leaf) {
  auto parts = split_path(path);
  if (parts.empty()) return -EINVAL;
  fs::Attr a;
  if (int r = walk(fs_, parts, parts.size() - 1, &a); r < 0) return r;
  *dir = a.ino;
  *leaf = parts.back();
  return 0;
}

int FsTarget::handle(fs::Ino ino) {
  for (size_t i = 0; i < handles_.size(); ++i)
    if (!handles_[i]) {
      handles_[i] = ino;
      return static_cast<int>(i);
    }
  handles_.push_back(ino);
  return static_cast<int>(handles_.size() - 1);
}

int FsTarget::create(const std::string& path, int* h, uint64_t* ino) {
  fs::Ino dir;
  std::string leaf;
  if (int r = parent_of(path, &dir, &leaf); r < 0) return r;
  auto a = fs_.mknod(kRoot, dir, leaf, S_IFREG | 0644, 0);
  if (!a) return a.err();
  if (int r = fs_.open(a->ino); r < 0) {
    fs_.forget(a->ino, 1);
    return r;
  }
  *ino = a->ino;
  *h = handle(a->ino);  // keeps mknod's lookup reference
  return 0;
}

int FsTarget::open(const std::string& path, int* h, uint64_t* ino) {
  fs::Ino dir;
  std::string leaf;
  if (int r = parent_of(path, &dir, &leaf); r < 0) return r;
  auto a = fs_.lookup(dir, leaf);
  if (!a) return a.err();
  if (int r = fs_.open(a->ino); r < 0) {
    fs_.forget(a->ino, 1);
    return r;
  }
  *ino = a->ino;
  *h = handle(a->ino);
  return 0;
}

int FsTarget::close(int h) {
  fs::Ino ino = ino_of(h);
  if (!ino) return -EBADF;
  handles_[h] = 0;
  fs_.release(ino);
  fs_.forget(ino, 1);
  return 0;
}

int FsTarget::pwrite(int h, uint64_t off, const std::string& data) {
  fs::Ino ino = ino_of(h);
  if (!ino) return -EBADF;
  auto r = fs_.write(ino, off, data.data(), data.size());
  if (!r) return r.err();
  return *r == data.size() ? 0 : -ENOSPC;
}

int FsTarget::truncate(int h, uint64_t size) {
  fs::Ino ino = ino_of(h);
  if (!ino) return -EBADF;
  fs::SetAttr s;
  s.fields = fs::SetAttr::kSize;
  s.size = size;
  auto r = fs_.setattr(ino, s);
  return r ? 0 : r.err();
}

int FsTarget::fallocate(int h, int mode, uint64_t off, uint64_t len) {
  fs::Ino ino = ino_of(h);
  return ino ? fs_.fallocate(ino, mode, off, len) : -EBADF;
}

int FsTarget::fsync(int h, bool datasync) {
  fs::Ino ino = ino_of(h);
  return ino ? fs_.fsync(ino, datasync) : -EBADF;
}

int FsTarget::setxattr(int h, const std::string& name, const std::string& value) {
  fs::Ino ino = ino_of(h);
  return ino ? fs_.setxattr(ino, name, value, 0) : -EBADF;
}

int FsTarget::removexattr(int h, const std::string& name) {
  fs::Ino ino = ino_of(h);
  return ino ? fs_.removexattr(ino, name) : -EBADF;
}

int FsTarget::rename(const std::string& from, const std::string& to) {
  fs::Ino d1, d2;
  std::string l1, l2;
  if (int r = parent_of(from, &d1, &l1); r < 0) return r;
  if (int r = parent_of(to, &d2, &l2); r < 0) return r;
  return fs_.rename(d1, l1, d2, l2, 0);
}

int FsTarget::link(const std::string& from, const std::string& to) {
  auto parts = split_path(from);
  fs::Attr src;
  if (int r = walk(fs_, parts, parts.size(), &src); r < 0) return r;
  fs::Ino dir;
  std::string leaf;
  if (int r = parent_of(to, &dir, &leaf); r < 0) return r;
  auto a = fs_.link(src.ino, dir, leaf);
  if (!a) return a.err();
  fs_.forget(a->ino, 1);
  return 0;
}

int FsTarget::unlink(const std::string& path) {
  fs::Ino dir;
  std::string leaf;
  if (int r = parent_of(path, &dir, &leaf); r < 0) return r;
  return fs_.unlink(dir, leaf);
}

int FsTarget::mkdir(const std::string& path, uint64_t* ino) {
  fs::Ino dir;
  std::string leaf;
  if (int r = parent_of(path, &dir, &leaf); r < 0) return r;
  auto a = fs_.mkdir(kRoot, dir, leaf, 0755);
  if (!a) return a.err();
  *ino = a->ino;
  fs_.forget(a->ino, 1);
  return 0;
}

int FsTarget::rmdir(const std::string& path) {
  fs::Ino dir;
  std::string leaf;
  if (int r = parent_of(path, &dir, &leaf); r < 0) return r;
  return fs_.rmdir(dir, leaf);
}

// The request layer answers fsyncdir with a whole-filesystem sync; so does this.
int FsTarget::fsyncdir(const std::string& path) {
  auto parts = split_path(path);
  fs::Attr a;
  if (int r = walk(fs_, parts, parts.size(), &a); r < 0) return r;
  return fs_.sync();
}

int FsTarget::sync() { return fs_.sync(); }

int FsView::resolve(const std::string& path, fs::Attr* out) {
  auto parts = split_path(base_.empty() ? path : base_ + "/" + path);
  return walk(fs_, parts, parts.size(), out);
}

int FsView::lookup(const std::string& path, Node* out) {
  fs::Attr a;
  if (int r = resolve(path, &a); r < 0) return r;
  out->ino = a.ino;
  out->dir = S_ISDIR(a.mode);
  return 0;
}

int FsView::read_all(const std::string& path, std::string* out) {
  fs::Attr a;
  if (int r = resolve(path, &a); r < 0) return r;
  out->assign(a.size, '\0');
  uint64_t off = 0;
  while (off < a.size) {
    auto r = fs_.read(a.ino, off, a.size - off, out->data() + off);
    if (!r) return r.err();
    if (*r == 0) break;
    off += *r;
  }
  out->resize(off);
  return 0;
}

int FsView::getxattr(const std::string& path, const std::string& name, std::optional<std::string>* out) {
  fs::Attr a;
  if (int r = resolve(path, &a); r < 0) return r;
  auto n = fs_.getxattr(a.ino, name, nullptr, 0);
  if (!n) {
    if (n.err() == -ENODATA) {
      *out = std::nullopt;
      return 0;
    }
    return n.err();
  }
  std::string v(*n, '\0');
  auto r = fs_.getxattr(a.ino, name, v.data(), v.size());
  if (!r) return r.err();
  v.resize(*r);
  *out = std::move(v);
  return 0;
}

int FsView::list(const std::string& path, std::vector<std::string>* out) {
  fs::Attr a;
  if (int r = resolve(path, &a); r < 0) return r;
  out->clear();
  int r = fs_.readdir(a.ino, 0, [&](const fs::DirEntry& e) {
    if (e.name != "." && e.name != "..") out->emplace_back(e.name);
    return true;
  });
  return r < 0 ? r : 0;
}

}  // namespace chainfs::crashcheck
