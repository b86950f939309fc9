#pragma once
// Inode: the in-memory form of one in-use inode, shared by every operation on it.
#include <sys/stat.h>

#include <atomic>
#include <cstdint>

#include "base/mutex.h"
#include "base/shared_mutex.h"
#include "base/thread_annotations.h"
#include "fs/format/inode.h"
#include "fs/meta/filesystem.h"

namespace chainfs::fs {

struct Inode {
  Inode(Ino n, const format::DiskInode& d) : ino(n), type(d.mode & S_IFMT), disk(d) {}
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  const Ino ino;
  // The file type (S_IFMT of disk.mode): it never changes, so it is read without mu.
  const uint32_t type;
  // Guards disk and the inode's data, directory tree, extent tree and xattrs: shared
  // for reads, exclusive for changes. Lock order: see FilesystemImpl (fs_impl.h).
  base::SharedMutex mu;
  format::DiskInode disk GUARDED_BY(mu);
  // Set (under mu, exclusive) when disk changed; cleared by the write-back, which
  // holds mu shared while it encodes the record.
  std::atomic<bool> dirty{false};

  // Guarded by FilesystemImpl::map_mu_.
  uint64_t nlookup = 0;
  uint64_t nopen = 0;
  // Write errors of the file's data (Filesystem::fsync_file): how many were recorded, the
  // last one, and whether an fsync has returned it.
  base::Mutex err_mu;
  uint64_t err_seq GUARDED_BY(err_mu) = 0;
  int err GUARDED_BY(err_mu) = 0;
  bool err_seen GUARDED_BY(err_mu) = true;
  // Set once, under mu (exclusive), when the inode number is released.
  std::atomic<bool> freed{false};

  bool is_dir() const { return type == S_IFDIR; }
  bool is_reg() const { return type == S_IFREG; }
  bool is_lnk() const { return type == S_IFLNK; }
};

}  // namespace chainfs::fs
