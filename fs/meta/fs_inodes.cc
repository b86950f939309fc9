// Inode lifetime of FilesystemImpl: the inode map, lookup and open counts, orphans, and
// freeing an inode once nothing can reach it.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "fs/meta/directory.h"
#include "fs/meta/extent_map.h"
#include "fs/meta/fs_impl.h"
#include "fs/meta/time_util.h"
#include "fs/meta/xattr_store.h"

namespace chainfs::fs {


Result<FilesystemImpl::InodeRef> FilesystemImpl::get(Ino ino) {
  {
    base::MutexLock g(map_mu_);
    auto it = map_.find(ino);
    if (it != map_.end()) {
      if (it->second->freed) return Error{-ENOENT};
      return it->second;
    }
  }
  if (ino < 1 || ino > vol_.ialloc.inode_count() || !vol_.ialloc.in_use(ino)) return Error{-ENOENT};
  format::DiskInode d;
  if (int r = vol_.load_inode(ino, &d); r < 0) return Error{r};
  auto in = std::make_shared<Inode>(ino, d);
  base::MutexLock g(map_mu_);
  auto [it, inserted] = map_.emplace(ino, in);
  if (it->second->freed) return Error{-ENOENT};
  return it->second;
}

Attr FilesystemImpl::attr_of(const Inode& in) const {
  const format::DiskInode& d = in.disk;
  Attr a;
  a.ino = in.ino;
  a.generation = d.generation;
  a.mode = d.mode;
  a.nlink = d.nlink;
  a.uid = d.uid;
  a.gid = d.gid;
  a.rdev = d.rdev;
  a.size = (d.mode & S_IFMT) == S_IFDIR ? kBlockSize * std::max<uint64_t>(1, d.blocks) : d.size;
  a.blocks = d.blocks * (kBlockSize / 512);
  a.atime = to_timespec(d.atime);
  a.mtime = to_timespec(d.mtime);
  a.ctime = to_timespec(d.ctime);
  a.btime = to_timespec(d.btime);
  return a;
}

void FilesystemImpl::add_lookup(const InodeRef& in) {
  base::MutexLock g(map_mu_);
  ++in->nlookup;
}

void FilesystemImpl::set_orphan(Ino ino, bool on) {
  base::MutexLock g(orphan_mu_);
  if (on)
    orphans_.insert(ino);
  else
    orphans_.erase(ino);
}

void FilesystemImpl::free_inode_locked(Inode& in) {
  format::DiskInode& d = in.disk;
  // Its cached pages go (and their writeback is waited for) before its blocks are freed.
  if (in.is_reg()) vol_.pages().forget(in.ino);
  if (in.is_dir()) {
    Directory(vol_, in.ino, d).destroy();
  } else if (!(d.flags & format::kInodeInlineData)) {
    ExtentMap(vol_, in.ino, d).destroy();
  }
  XattrStore(vol_, in.ino, d).free_chain();
  in.freed = true;
  clear_dirty(in);
  format::DiskInode zero;
  zero.generation = d.generation;
  vol_.store_inode(in.ino, zero);
  vol_.ialloc.free(in.ino);
  set_orphan(in.ino, false);
}

void FilesystemImpl::maybe_free(const InodeRef& in) {
  {
    base::MutexLock g(map_mu_);
    if (in->nopen || in->freed) return;
  }
  {
    // The common case, a linked file's last close or forget: no exclusive lock, so it
    // never waits behind the file's readers.
    base::ReaderLock s(in->mu);
    if (in->disk.nlink != 0) return;
  }
  base::WriterLock l(in->mu);
  if (in->disk.nlink != 0 || in->freed || read_only_) return;
  bool looked_up = false;
  {
    base::MutexLock g(map_mu_);
    if (in->nopen) return;
    looked_up = in->nlookup != 0;
  }
  if (looked_up) {
    // No name and no open file: the data can never be read again, so its blocks are free
    // now, as on ext4, not when the kernel gets round to FORGET (after a df, say). The
    // record stays, an orphan of size 0, until then.
    format::DiskInode& d = in->disk;
    if (in->is_reg() && !(d.flags & format::kInodeInlineData) && (d.size || d.blocks)) {
      vol_.pages().forget(in->ino);
      if (int r = ExtentMap(vol_, in->ino, d).destroy(); r < 0)
        spdlog::warn("chainfs: inode {}: freeing the blocks of an unlinked file failed: {}", in->ino, std::strerror(-r));
      d.size = 0;
      mark_dirty(*in);
    }
    return;
  }
  // No name and no reference: nobody can reach it any more.
  free_inode_locked(*in);
  base::MutexLock g(map_mu_);
  auto it = map_.find(in->ino);
  if (it != map_.end() && it->second == in) map_.erase(it);
}

void FilesystemImpl::forget(Ino ino, uint64_t nlookup) {
  // A fuseblk mount unmounts in DESTROY, which a forget on another thread may overtake.
  if (unmounted_) return;
  Op op(*this);
  if (unmounted_) return;
  InodeRef in;
  {
    base::MutexLock g(map_mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return;
    in = it->second;
    in->nlookup -= std::min(in->nlookup, nlookup);
  }
  maybe_free(in);
}

int FilesystemImpl::open(Ino ino) {
  auto in = get(ino);
  if (!in) return in.err();
  base::MutexLock g(map_mu_);
  ++(*in)->nopen;
  return 0;
}

void FilesystemImpl::release(Ino ino) {
  Op op(*this);
  InodeRef in;
  {
    base::MutexLock g(map_mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return;
    in = it->second;
    if (in->nopen) --in->nopen;
  }
  maybe_free(in);
}

}  // namespace chainfs::fs
