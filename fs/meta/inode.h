#pragma once
// Inode: the in-memory form of one in-use inode, shared by every operation on it.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "fs/format/inode.h"
#include "fs/meta/filesystem.h"

namespace chainfs::fs {

struct Inode {
  explicit Inode(Ino n) : ino(n) {}
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  const Ino ino;
  // Guards disk and the inode's data, directory tree, extent tree and xattrs: shared
  // for reads, exclusive for changes. Lock order: see FilesystemImpl (fs_impl.h).
  std::shared_mutex mu;
  format::DiskInode disk;
  // Set (under mu, exclusive) when disk changed; cleared by the write-back, which
  // holds mu shared while it encodes the record.
  std::atomic<bool> dirty{false};

  // Guarded by FilesystemImpl::map_mu_.
  uint64_t nlookup = 0;
  uint64_t nopen = 0;
  // Write errors of the file's data (Filesystem::fsync_file), guarded by err_mu: how many
  // were recorded, the last one, and whether an fsync has returned it.
  std::mutex err_mu;
  uint64_t err_seq = 0;
  int err = 0;
  bool err_seen = true;
  // Set once, under mu (exclusive), when the inode number is released.
  std::atomic<bool> freed{false};

  bool is_dir() const { return (disk.mode & S_IFMT) == S_IFDIR; }
  bool is_reg() const { return (disk.mode & S_IFMT) == S_IFREG; }
  bool is_lnk() const { return (disk.mode & S_IFMT) == S_IFLNK; }
};

}  // namespace chainfs::fs
