#pragma once
// Filesystem: the POSIX-level operations of a mounted chainfs, on inode numbers. This is
// the contract between the metadata layer (fs/meta, which implements it over the
// on-disk format) and the request layer (fs/fuse, which calls it and replies once per
// FUSE request). Every call returns a value or a negative errno (Result / int); none
// throws. Corruption found on disk is -EUCLEAN (kCorrupt): the object is refused, the
// filesystem stays up.
//
// Thread safety: every method may be called from many FUSE worker threads at once.
// Operations on different inodes run in parallel; there is no global lock around
// every operation.
//
// Inode lifetime: the kernel holds "lookup references" (every successful lookup, mknod,
// mkdir, symlink and link adds one; forget(ino, n) drops n) and open files hold open
// references (open/release). An inode whose link count is 0 is freed when both counts
// reach 0; at unmount (the kernel sends no forgets) every such inode is freed.
//
// Permission checks are the kernel's (the mount always uses default_permissions);
// access() is the only call that checks a caller's rights itself. Semantics otherwise
// follow kernel ext4: errno values, timestamp updates, link counts, sticky and setgid
// directory rules for new inodes.
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/block_size.h"
#include "base/result.h"

namespace chainfs::io {
class Device;
}
namespace chainfs::cache {
struct EngineConfig;
}

namespace chainfs::fs {

using Ino = uint64_t;
inline constexpr Ino kRootIno = 1;           // == FUSE_ROOT_ID
inline constexpr size_t kNameMax = 255;      // bytes; longer names get -ENAMETOOLONG
inline constexpr size_t kXattrValueMax = 65536;

// The identity that creates an inode (FUSE request context).
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Permission bits a new inode loses when its directory has no default ACL (with a default
  // ACL, the ACL decides instead). The kernel leaves the umask to a filesystem with ACLs.
  uint32_t umask = 0;
};

struct Attr {
  Ino ino = 0;
  uint64_t generation = 0;
  uint32_t mode = 0;  // type and permission bits, as st_mode
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units actually allocated (holes take none)
  uint32_t blksize = kBlockSize;
  timespec atime{}, mtime{}, ctime{}, btime{};

  void to_stat(struct stat* st) const {
    std::memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = mode;
    st->st_nlink = nlink;
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_rdev = rdev;
    st->st_size = static_cast<off_t>(size);
    st->st_blocks = static_cast<blkcnt_t>(blocks);
    st->st_blksize = blksize;
    st->st_atim = atime;
    st->st_mtim = mtime;
    st->st_ctim = ctime;
  }
};

// What setattr changes: a set of Field bits plus the values.
struct SetAttr {
  enum Field : uint32_t {
    kMode = 1u << 0,
    kUid = 1u << 1,
    kGid = 1u << 2,
    kSize = 1u << 3,
    kAtime = 1u << 4,     // set atime to .atime
    kMtime = 1u << 5,     // set mtime to .mtime
    kAtimeNow = 1u << 6,  // set atime to now (UTIME_NOW)
    kMtimeNow = 1u << 7,
    kCtime = 1u << 8,     // set ctime to .ctime (writeback cache sends it)
  };
  uint32_t fields = 0;
  uint32_t mode = 0;  // permission bits (and suid/sgid/sticky); the type is unchanged
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  timespec atime{}, mtime{}, ctime{};
};

struct DirEntry {
  std::string_view name;
  Ino ino = 0;
  uint32_t type = 0;         // DT_REG, DT_DIR, ... (as d_type)
  uint64_t next_cookie = 0;  // pass to readdir() to continue after this entry
};

struct FsStat {
  uint32_t block_size = kBlockSize;
  uint64_t blocks = 0, blocks_free = 0, blocks_avail = 0;
  uint64_t files = 0, files_free = 0;
  uint32_t name_max = kNameMax;
  uint64_t fsid = 0;
};

enum class AtimeMode { kRelatime, kStrictatime, kNoatime };

struct MountOptions {
  bool read_only = false;
  AtimeMode atime = AtimeMode::kRelatime;
  bool nodiratime = false;  // directories' atime is never updated (reading them included)
  unsigned flush_interval_s = 5;  // dirty data and metadata reach the device at least this often
  std::string stats_path;            // statistics JSON refreshed every second; empty = none
  bool force_compound_fallback = false;  // debug: compound buffers always scatter lists

  // How file data reaches the device: the data engine's settings (strategies, completion,
  // page pool, cache size; fs/cache/engine_config.h, with their option table), opaque to this
  // contract. nullptr: the defaults. The options above are declared in mount_options.h.
  std::shared_ptr<const cache::EngineConfig> engine;
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;

  // ---- whole filesystem
  // True when the superblock said "mounted" at mount time (the last unmount was not clean).
  virtual bool was_unclean() const = 0;
  // Committed journal transactions the mount replayed (left by a crash).
  virtual uint64_t recovered_transactions() const = 0;
  virtual Result<FsStat> statfs() = 0;
  // Writes every dirty block and flushes the device (syncfs / fsyncdir).
  virtual int sync() = 0;
  // Switches between read-only and read-write (remount). Going read-only syncs and marks
  // the superblock clean; writes then return -EROFS.
  virtual int set_read_only(bool ro) = 0;
  // Frees orphans, writes everything, marks the superblock clean, flushes. Called once,
  // after the FUSE session ended; the object must not be used afterwards.
  virtual int unmount() = 0;

  // ---- inode references (see the header comment)
  virtual void forget(Ino ino, uint64_t nlookup) = 0;

  // ---- namespace (each Attr-returning creator/lookup adds one lookup reference)
  // lookup(ino, ".") works on inodes of any type (file handles): -ENOENT when ino is free or
  // unlinked; ".." of a directory is its parent (the root's is the root).
  virtual Result<Attr> lookup(Ino parent, std::string_view name) = 0;
  virtual Result<Attr> getattr(Ino ino) = 0;
  virtual Result<Attr> setattr(Ino ino, const SetAttr& set) = 0;
  // Regular files, fifos, sockets, char/block devices; mode carries the type.
  virtual Result<Attr> mknod(const Caller& who, Ino parent, std::string_view name, uint32_t mode,
                             uint64_t rdev) = 0;
  virtual Result<Attr> mkdir(const Caller& who, Ino parent, std::string_view name, uint32_t mode) = 0;
  virtual Result<Attr> symlink(const Caller& who, Ino parent, std::string_view name,
                               std::string_view target) = 0;
  // An unnamed regular file (O_TMPFILE) that belongs to directory dir: link count 0, an
  // orphan until link() gives it a name, freed at its last close otherwise.
  virtual Result<Attr> tmpfile(const Caller& who, Ino dir, uint32_t mode) = 0;
  // A file whose link count is 0 can be linked again while it is open (the kernel lets
  // only O_TMPFILE files without O_EXCL get this far).
  virtual Result<Attr> link(Ino ino, Ino new_parent, std::string_view new_name) = 0;
  virtual int unlink(Ino parent, std::string_view name) = 0;
  virtual int rmdir(Ino parent, std::string_view name) = 0;
  // flags: 0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT (with or without
  // RENAME_NOREPLACE: the old name then holds a whiteout, a 0:0 character device owned by
  // who); others -EINVAL.
  virtual int rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                     unsigned flags, const Caller& who = {}) = 0;
  virtual Result<std::string> readlink(Ino ino) = 0;

  // ---- directories
  // Emits entries (".", "..", then the rest) starting at cookie (0 = beginning) until
  // emit returns false. A cookie stays valid while the directory changes: entries
  // present for the whole listing are returned exactly once.
  virtual int readdir(Ino dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& emit) = 0;

  // ---- file data
  virtual int open(Ino ino) = 0;  // takes an open reference
  virtual void release(Ino ino) = 0;
  // Reads up to len bytes at off; returns the count (short only at end of file; holes read as zeros).
  virtual Result<size_t> read(Ino ino, uint64_t off, size_t len, char* buf) = 0;
  // Whether a read of ino now would set its access time (the mount's atime mode; relatime:
  // atime not newer than mtime or ctime, or a day old). A reader served from the kernel's page
  // cache sends no read, so the FUSE layer lets such an open drop the cached data.
  virtual bool read_sets_atime(Ino ino) = 0;
  // Writes len bytes at off; returns the count (short only when the device fills up after
  // some bytes were written; -ENOSPC when none were). Updates size, mtime and ctime.
  // When the range's holes need more blocks than are available, nothing is written and
  // the result is -ENOSPC (the kernel reports a short async direct-I/O write as EIO).
  virtual Result<size_t> write(Ino ino, uint64_t off, const char* buf, size_t len) = 0;
  // Makes the file's data and the metadata that maps it durable (datasync: skip
  // metadata not needed to read the data back). A write error of the file's data (found by
  // this fsync or by any earlier write-back) is returned as ext4 returns it (errseq): each
  // open file takes a cursor when it is opened (write_error_cursor) and passes it to every
  // fsync_file, which returns an error recorded after that cursor once, then 0 until a new
  // one; an error no fsync has returned yet is also returned to files opened after it
  // happened. fsync(ino, datasync) is fsync_file with a fresh cursor. Errors of other files'
  // data are not this file's: they go to those files' fsyncs.
  virtual int fsync(Ino ino, bool datasync) = 0;
  virtual int fsync_file(Ino ino, bool datasync, uint64_t* cursor) = 0;
  virtual uint64_t write_error_cursor(Ino ino) = 0;
  // mode: 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE,
  // FALLOC_FL_ZERO_RANGE[|FALLOC_FL_KEEP_SIZE]; others -EOPNOTSUPP.
  virtual int fallocate(Ino ino, int mode, uint64_t off, uint64_t len) = 0;
  // whence SEEK_DATA or SEEK_HOLE; -ENXIO past the end.
  virtual Result<uint64_t> lseek(Ino ino, uint64_t off, int whence) = 0;

  // ---- extended attributes (user., trusted., security., the two ACLs; others -EOPNOTSUPP)
  // flags: 0, XATTR_CREATE (-EEXIST), XATTR_REPLACE (-ENODATA). An ACL must be valid
  // (-EINVAL); an access ACL sets the mode's permission bits and is dropped when the mode
  // says as much, and drop_sgid (the caller is neither in the file's group nor has
  // CAP_FSETID) then also clears set-group-ID. A default ACL only on directories (-EACCES).
  virtual int setxattr(Ino ino, std::string_view name, std::string_view value, int flags,
                       bool drop_sgid) = 0;
  int setxattr(Ino ino, std::string_view name, std::string_view value, int flags) {
    return setxattr(ino, name, value, flags, false);
  }
  // size 0: returns the value's length. Too small: -ERANGE. Missing: -ENODATA.
  virtual Result<size_t> getxattr(Ino ino, std::string_view name, char* buf, size_t size) = 0;
  // NUL-separated names; size 0 returns the length needed.
  virtual Result<size_t> listxattr(Ino ino, char* buf, size_t size) = 0;
  // Removing an ACL that is not there succeeds, as on ext4.
  virtual int removexattr(Ino ino, std::string_view name) = 0;

  // mask: F_OK or R_OK|W_OK|X_OK, for a caller with the given uid/gid (root passes all
  // but X_OK on files without any x bit).
  virtual int access(const Caller& who, Ino ino, int mask) = 0;
};

// Opens the chainfs on dev (which the caller opened exclusively): reads and verifies the
// superblock (or its backup), marks it mounted unless read_only. Corrupt or foreign
// images give -EUCLEAN / -EINVAL with *message set to one line saying what is wrong.
Result<std::unique_ptr<Filesystem>> mount_filesystem(std::unique_ptr<io::Device> dev,
                                                     const MountOptions& opts, std::string* message);

}  // namespace chainfs::fs
