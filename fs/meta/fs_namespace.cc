// Namespace operations of FilesystemImpl: lookup, create, link, unlink, rename, readdir.
#include <dirent.h>
#include <linux/fs.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/meta/directory.h"
#include "fs/meta/file_io.h"
#include "fs/meta/fs_impl.h"
#include "fs/meta/time_util.h"

namespace chainfs::fs {

namespace {
constexpr uint32_t kLinkMax = 65000;

int check_name(std::string_view name) {
  if (name.empty()) return -ENOENT;
  if (name.size() > kNameMax) return -ENAMETOOLONG;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return -EINVAL;
  return 0;
}
bool dot_or_dotdot(std::string_view n) { return n == "." || n == ".."; }
uint8_t dtype(uint32_t mode) { return static_cast<uint8_t>(IFTODT(mode)); }
void touch_mc(format::DiskInode& d, const format::Timespec& t) { d.mtime = d.ctime = t; }
}  // namespace

Result<Attr> FilesystemImpl::lookup(Ino parent, std::string_view name) {
  if (int r = check_name(name)) return Error{r};
  auto p = get(parent);
  if (!p) return Error{p.err()};  // a free inode number (an old file handle): -ENOENT
  if (name == "." && !(*p)->is_dir()) {
    // The inode itself, of any type: how the kernel resolves a file handle (open_by_handle_at,
    // NFS export) whose inode it no longer caches. An unlinked inode is stale, as on ext4.
    base::ReaderLock l((*p)->mu);
    if ((*p)->disk.nlink == 0) return Error{-ENOENT};
    add_lookup(*p);
    return attr_of(**p);
  }
  InodeRef child;
  {
    base::ReaderLock pl((*p)->mu);
    if (!(*p)->is_dir()) return Error{-ENOTDIR};
    Ino target = 0;
    if (name == ".") {
      target = parent;
    } else if (name == "..") {
      target = (*p)->disk.parent ? (*p)->disk.parent : parent;
    } else {
      format::Dirent d;
      int r = Directory(vol_, parent, (*p)->disk).lookup(name, &d);
      if (r < 0) return Error{r};
      target = d.ino;
    }
    auto c = get(target);
    if (!c) return Error{c.err() == -ENOENT ? -EUCLEAN : c.err()};  // an entry to a free inode
    child = *c;
    add_lookup(child);  // under the parent's lock: the entry cannot vanish meanwhile
  }
  base::ReaderLock cl(child->mu);
  return attr_of(*child);
}

Result<Attr> FilesystemImpl::getattr(Ino ino) {
  auto in = get(ino);
  if (!in) return Error{in.err()};
  base::ReaderLock l((*in)->mu);
  return attr_of(**in);
}

Result<FilesystemImpl::InodeRef> FilesystemImpl::new_inode(const Caller& who, Inode& parent,
                                                           uint32_t mode, uint64_t rdev) {
  Ino ino = 0;
  int r = vol_.ialloc.alloc(&ino);
  if (r < 0) return Error{r};
  format::DiskInode d;
  d.mode = mode;
  d.uid = who.uid;
  d.gid = who.gid;
  if (parent.disk.mode & S_ISGID) {
    // setgid directory: new inodes take its group; new subdirectories stay setgid.
    d.gid = parent.disk.gid;
    if (S_ISDIR(mode)) d.mode |= S_ISGID;
  }
  d.nlink = S_ISDIR(mode) ? 2 : 1;
  d.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
  d.atime = d.mtime = d.ctime = d.btime = now_ts();
  {
    base::MutexLock g(vol_.sb_mu);
    d.generation = vol_.sb.next_generation++;
  }
  if (S_ISDIR(mode)) d.parent = parent.ino;
  auto in = std::make_shared<Inode>(ino, d);
  mark_dirty(*in);
  base::MutexLock g(map_mu_);
  map_[ino] = in;
  return in;
}

void FilesystemImpl::drop_new_inode(const InodeRef& in) {
  base::WriterLock l(in->mu);
  in->disk.nlink = 0;
  free_inode_locked(*in);
  base::MutexLock g(map_mu_);
  map_.erase(in->ino);
}

Result<Attr> FilesystemImpl::create_entry(const Caller& who, Ino parent, std::string_view name,
                                          uint32_t mode, uint64_t rdev, std::string_view target) {
  if (int r = writable()) return Error{r};
  Op op(*this);
  if (int r = check_name(name)) return Error{r};
  if (dot_or_dotdot(name)) return Error{-EEXIST};
  auto p = get(parent);
  if (!p) return Error{p.err()};
  Inode& dir = **p;
  base::WriterLock pl(dir.mu);
  if (!dir.is_dir()) return Error{-ENOTDIR};
  if (dir.disk.nlink == 0) return Error{-ENOENT};  // removed directory
  if (S_ISDIR(mode) && dir.disk.nlink >= kLinkMax) return Error{-EMLINK};
  Directory dd(vol_, parent, dir.disk);
  format::Dirent existing;
  int r = dd.lookup(name, &existing);
  if (r == 0) return Error{-EEXIST};
  if (r != -ENOENT) return Error{r};
  auto c = new_inode(who, dir, mode, rdev);
  if (!c) return Error{c.err()};
  InodeRef child = *c;
  base::WriterLock cl(child->mu);
  int e = 0;
  if (!S_ISLNK(mode)) {
    e = inherit_acl(who, dir, *child);
  } else if (format::DiskInode& d = child->disk; target.size() <= format::kInlineDataSize) {
    std::memcpy(d.inline_data.data(), target.data(), target.size());
    d.flags |= format::kInodeInlineData;
    d.size = target.size();
  } else {
    auto w = FileIo(vol_, child->ino, d).write(0, target.data(), target.size());
    if (!w || *w != target.size()) e = w ? -ENOSPC : w.err();
  }
  if (e == 0) e = dd.add(name, child->ino, dtype(mode));
  if (e < 0) {
    cl.unlock();
    drop_new_inode(child);
    return Error{e};
  }
  if (S_ISDIR(mode)) ++dir.disk.nlink;
  touch_mc(dir.disk, child->disk.ctime);
  mark_dirty(dir);
  add_lookup(child);
  return attr_of(*child);
}

Result<Attr> FilesystemImpl::mknod(const Caller& who, Ino parent, std::string_view name, uint32_t mode,
                                   uint64_t rdev) {
  uint32_t type = mode & S_IFMT;
  if (type == 0) mode |= S_IFREG;
  else if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
    return Error{-EINVAL};
  return create_entry(who, parent, name, mode, rdev, {});
}

Result<Attr> FilesystemImpl::mkdir(const Caller& who, Ino parent, std::string_view name, uint32_t mode) {
  return create_entry(who, parent, name, S_IFDIR | (mode & 07777), 0, {});
}

Result<Attr> FilesystemImpl::symlink(const Caller& who, Ino parent, std::string_view name,
                                     std::string_view target) {
  if (target.empty()) return Error{-ENOENT};
  if (target.size() > format::kSymlinkMax) return Error{-ENAMETOOLONG};
  return create_entry(who, parent, name, S_IFLNK | 0777, 0, target);
}

Result<Attr> FilesystemImpl::tmpfile(const Caller& who, Ino dir_ino, uint32_t mode) {
  if (int r = writable()) return Error{r};
  Op op(*this);
  auto p = get(dir_ino);
  if (!p) return Error{p.err()};
  Inode& dir = **p;
  base::WriterLock pl(dir.mu);
  if (!dir.is_dir()) return Error{-ENOTDIR};
  if (dir.disk.nlink == 0) return Error{-ENOENT};  // removed directory
  auto c = new_inode(who, dir, S_IFREG | (mode & 07777), 0);
  if (!c) return Error{c.err()};
  InodeRef child = *c;
  base::WriterLock cl(child->mu);
  if (int e = inherit_acl(who, dir, *child); e < 0) {
    cl.unlock();
    drop_new_inode(child);
    return Error{e};
  }
  // No entry, so the directory itself does not change (as on ext4). An orphan from the
  // start: a crash before a link frees it at the next mount.
  child->disk.nlink = 0;
  set_orphan(child->ino, true);
  add_lookup(child);
  return attr_of(*child);
}

Result<Attr> FilesystemImpl::link(Ino ino, Ino new_parent, std::string_view new_name) {
  if (int r = writable()) return Error{r};
  Op op(*this);
  if (int r = check_name(new_name)) return Error{r};
  if (dot_or_dotdot(new_name)) return Error{-EEXIST};
  auto p = get(new_parent);
  if (!p) return Error{p.err()};
  auto c = get(ino);
  if (!c) return Error{c.err()};
  if ((*c)->is_dir()) return Error{-EPERM};
  Inode& dir = **p;
  Inode& child = **c;
  base::WriterLock pl(dir.mu);  // parent before entry
  base::WriterLock cl(child.mu);
  if (!dir.is_dir()) return Error{-ENOTDIR};
  if (dir.disk.nlink == 0 || child.freed) return Error{-ENOENT};
  if (child.disk.nlink == 0) {
    base::MutexLock g(map_mu_);
    if (child.nopen == 0) return Error{-ENOENT};  // nobody can still name it
  }
  if (child.disk.nlink >= kLinkMax) return Error{-EMLINK};
  Directory dd(vol_, new_parent, dir.disk);
  int r = dd.add(new_name, ino, dtype(child.disk.mode));
  if (r < 0) return Error{r};
  auto t = now_ts();
  if (child.disk.nlink++ == 0) set_orphan(ino, false);
  child.disk.ctime = t;
  touch_mc(dir.disk, t);
  mark_dirty(child);
  mark_dirty(dir);
  add_lookup(*c);
  return attr_of(child);
}

int FilesystemImpl::remove_entry(Ino parent, std::string_view name, bool want_dir) {
  if (int r = writable()) return r;
  Op op(*this);
  if (int r = check_name(name)) return r;
  if (want_dir && name == ".") return -EINVAL;
  if (want_dir && name == "..") return -ENOTEMPTY;
  if (!want_dir && dot_or_dotdot(name)) return -EISDIR;
  auto p = get(parent);
  if (!p) return p.err();
  Inode& dir = **p;
  InodeRef child;
  {
    base::WriterLock pl(dir.mu);
    if (!dir.is_dir()) return -ENOTDIR;
    Directory dd(vol_, parent, dir.disk);
    format::Dirent d;
    int r = dd.lookup(name, &d);
    if (r < 0) return r;
    auto c = get(d.ino);
    if (!c) return c.err() == -ENOENT ? -EUCLEAN : c.err();
    child = *c;
    base::WriterLock cl(child->mu);
    if (want_dir && !child->is_dir()) return -ENOTDIR;
    if (!want_dir && child->is_dir()) return -EISDIR;
    if (want_dir && (child->disk.dir_entries != 0 || child->disk.tree_root != 0)) return -ENOTEMPTY;
    r = dd.remove(name);
    if (r < 0) return r;
    auto t = now_ts();
    touch_mc(dir.disk, t);
    child->disk.ctime = t;
    if (want_dir) {
      child->disk.nlink = 0;
      if (dir.disk.nlink > 2) --dir.disk.nlink;
    } else if (child->disk.nlink) {
      --child->disk.nlink;
    }
    if (child->disk.nlink == 0) set_orphan(child->ino, true);
    mark_dirty(dir);
    mark_dirty(*child);
  }
  maybe_free(child);
  return 0;
}

int FilesystemImpl::unlink(Ino parent, std::string_view name) { return remove_entry(parent, name, false); }
int FilesystemImpl::rmdir(Ino parent, std::string_view name) { return remove_entry(parent, name, true); }

// Reads the parent fields without the inodes' locks, which the analysis cannot know is
// enough: they change only under rename_mu_, and other fields of a record change
// meanwhile only under its own lock, at other addresses.
bool FilesystemImpl::is_ancestor(Ino anc, Ino node) NO_THREAD_SAFETY_ANALYSIS {
  for (int depth = 0; node && depth < 100000; ++depth) {
    if (node == anc) return true;
    if (node == kRootIno) return false;
    auto n = get(node);
    if (!n) return false;
    node = (*n)->disk.parent;
  }
  return false;
}

// Locks up to four inodes in an order chosen at run time (fs_impl.h), the last only when
// the target name exists: conditional locks, which the analysis cannot follow.
int FilesystemImpl::rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                           unsigned flags, const Caller& who) NO_THREAD_SAFETY_ANALYSIS {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return -EINVAL;
  if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT))) return -EINVAL;
  if (int r = writable()) return r;
  if (int r = check_name(name)) return r;
  if (int r = check_name(new_name)) return r;
  if (dot_or_dotdot(name) || dot_or_dotdot(new_name)) return -EBUSY;
  Op op(*this);
  base::MutexLock rg(rename_mu_);
  auto p1 = get(parent);
  if (!p1) return p1.err();
  auto p2 = get(new_parent);
  if (!p2) return p2.err();
  InodeRef P1 = *p1, P2 = *p2;
  if (!P1->is_dir() || !P2->is_dir()) return -ENOTDIR;
  std::unique_lock<base::SharedMutex> l1, l2;
  if (P1 == P2) {
    l1 = std::unique_lock(P1->mu);
  } else if (is_ancestor(P2->ino, P1->ino)) {
    l2 = std::unique_lock(P2->mu);
    l1 = std::unique_lock(P1->mu);
  } else if (is_ancestor(P1->ino, P2->ino) || P1->ino < P2->ino) {
    l1 = std::unique_lock(P1->mu);
    l2 = std::unique_lock(P2->mu);
  } else {
    l2 = std::unique_lock(P2->mu);
    l1 = std::unique_lock(P1->mu);
  }
  if (P1->disk.nlink == 0 || P2->disk.nlink == 0) return -ENOENT;
  Directory d1(vol_, P1->ino, P1->disk), d2(vol_, P2->ino, P2->disk);
  format::Dirent src, dst;
  int r = d1.lookup(name, &src);
  if (r < 0) return r;
  r = d2.lookup(new_name, &dst);
  bool have_dst = r == 0;
  if (r < 0 && r != -ENOENT) return r;
  if (have_dst && dst.ino == src.ino) return 0;  // same inode: nothing to do (POSIX)
  if ((flags & RENAME_NOREPLACE) && have_dst) return -EEXIST;
  if ((flags & RENAME_EXCHANGE) && !have_dst) return -ENOENT;
  auto s = get(src.ino);
  if (!s) return s.err() == -ENOENT ? -EUCLEAN : s.err();
  InodeRef S = *s, D;
  if (have_dst) {
    auto dd = get(dst.ino);
    if (!dd) return dd.err() == -ENOENT ? -EUCLEAN : dd.err();
    D = *dd;
  }
  bool s_dir = S->is_dir(), d_dir = D && D->is_dir();
  // A directory may not move below itself.
  if (s_dir && P1 != P2 && is_ancestor(S->ino, P2->ino)) return -EINVAL;
  if ((flags & RENAME_EXCHANGE) && d_dir && P1 != P2 && is_ancestor(D->ino, P1->ino)) return -EINVAL;
  if (!(flags & RENAME_EXCHANGE) && D) {
    if (s_dir && !d_dir) return -ENOTDIR;
    if (!s_dir && d_dir) return -EISDIR;
  }
  if (D == P1 || D == P2) return (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
  if (S == P2) return -EINVAL;
  // The entries' inodes, in inode order (neither is an ancestor of the other here).
  std::unique_lock<base::SharedMutex> ls, ld;
  if (D && D->ino < S->ino) ld = std::unique_lock(D->mu);
  ls = std::unique_lock(S->mu);
  if (D && D->ino > S->ino) ld = std::unique_lock(D->mu);
  if (!(flags & RENAME_EXCHANGE) && d_dir && (D->disk.dir_entries || D->disk.tree_root)) return -ENOTEMPTY;
  if (s_dir && P1 != P2 && !d_dir && P2->disk.nlink >= kLinkMax) return -EMLINK;

  auto t = now_ts();
  if (flags & RENAME_EXCHANGE) {
    if ((r = d2.replace(new_name, S->ino, dtype(S->disk.mode))) < 0) return r;
    if ((r = d1.replace(name, D->ino, dtype(D->disk.mode))) < 0) return r;
    if (P1 != P2) {
      if (s_dir) S->disk.parent = P2->ino;
      if (d_dir) D->disk.parent = P1->ino;
      if (s_dir && !d_dir) --P1->disk.nlink, ++P2->disk.nlink;
      if (!s_dir && d_dir) ++P1->disk.nlink, --P2->disk.nlink;
    }
    D->disk.ctime = t;
    mark_dirty(*D);
  } else {
    // RENAME_WHITEOUT (overlayfs): the old name becomes a whiteout, a character device 0:0
    // owned by the caller, in the same step.
    InodeRef W;
    if (flags & RENAME_WHITEOUT) {
      auto w = new_inode(who, *P1, S_IFCHR, 0);
      if (!w) return w.err();
      W = *w;
    }
    r = D ? d2.replace(new_name, S->ino, dtype(S->disk.mode)) : d2.add(new_name, S->ino, dtype(S->disk.mode));
    if (r < 0) {
      if (W) drop_new_inode(W);
      return r;
    }
    if ((r = W ? d1.replace(name, W->ino, DT_CHR) : d1.remove(name)) < 0) return r;
    if (D) {
      if (d_dir) {
        D->disk.nlink = 0;
        --P2->disk.nlink;
      } else if (D->disk.nlink) {
        --D->disk.nlink;
      }
      D->disk.ctime = t;
      mark_dirty(*D);
      if (D->disk.nlink == 0) set_orphan(D->ino, true);
    }
    if (s_dir && P1 != P2) {
      S->disk.parent = P2->ino;
      --P1->disk.nlink;
      ++P2->disk.nlink;
    }
  }
  S->disk.ctime = t;
  mark_dirty(*S);
  touch_mc(P1->disk, t);
  touch_mc(P2->disk, t);
  mark_dirty(*P1);
  mark_dirty(*P2);
  ls.unlock();
  if (ld) ld.unlock();
  if (l1) l1.unlock();
  if (l2) l2.unlock();
  if (D && !(flags & RENAME_EXCHANGE)) maybe_free(D);
  return 0;
}

Result<std::string> FilesystemImpl::readlink(Ino ino) {
  auto in = get(ino);
  if (!in) return Error{in.err()};
  base::ReaderLock l((*in)->mu);
  format::DiskInode& d = (*in)->disk;
  if (!(*in)->is_lnk()) return Error{-EINVAL};
  // A target is 1 to kSymlinkMax bytes without a NUL (symlink() writes no other); anything
  // else on disk is damage, which fsck reports and repairs, so say so rather than pass it on.
  auto corrupt = [&] {
    log_corrupt(ino, 0, "symlink target has a bad length, is truncated or holds a NUL byte");
    return Error{-EUCLEAN};
  };
  if (d.size == 0 || d.size > format::kSymlinkMax) return corrupt();
  std::string s;
  if (d.flags & format::kInodeInlineData) {
    s.assign(reinterpret_cast<const char*>(d.inline_data.data()), d.size);
  } else {
    s.assign(d.size, '\0');
    auto r = FileIo(vol_, ino, d).read(0, d.size, s.data());
    if (!r) return Error{r.err()};
    if (*r != d.size) return corrupt();
  }
  if (s.find('\0') != std::string::npos) return corrupt();
  return s;
}

int FilesystemImpl::readdir(Ino dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& emit) {
  auto in = get(dir);
  if (!in) return in.err();
  {
    Inode& d = **in;
    base::ReaderLock l(d.mu);
    if (!d.is_dir()) return -ENOTDIR;
    if (cookie == 0 && !emit(DirEntry{".", dir, DT_DIR, 1})) return 0;
    if (cookie <= 1 && !emit(DirEntry{"..", d.disk.parent ? d.disk.parent : dir, DT_DIR, 2})) return 0;
    int r = Directory(vol_, dir, d.disk).scan(std::max(cookie, format::kFirstNameHash),
                                               [&](const format::Dirent& e, uint64_t next) {
                                                 return emit(DirEntry{e.name, e.ino, e.type, next});
                                               });
    if (r < 0) return r;
  }
  touch_atime(*in);
  return 0;
}

}  // namespace chainfs::fs
