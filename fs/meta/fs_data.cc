// Attribute, data and xattr operations of FilesystemImpl.
#include <linux/falloc.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/format/xattr.h"
#include "fs/meta/file_io.h"
#include "fs/meta/fs_impl.h"
#include "fs/meta/posix_acl.h"
#include "fs/meta/time_util.h"
#include "fs/meta/xattr_store.h"

namespace chainfs::fs {

namespace {
bool has_xattrs(const format::DiskInode& d) { return d.xattr_inline_len != 0 || d.xattr_block != 0; }

// Where the two ACLs are stored (FORMAT.md): trusted.* names of chainfs's own, which are
// neither listed nor reachable under those names.
constexpr std::string_view kAccessKey = "trusted.chainfs.posix_acl_access";
constexpr std::string_view kDefaultKey = "trusted.chainfs.posix_acl_default";

// The key an attribute name is stored under; empty for the reserved keys themselves.
std::string_view storage_key(std::string_view name) {
  if (name == acl::kAccessName) return kAccessKey;
  if (name == acl::kDefaultName) return kDefaultKey;
  if (name == kAccessKey || name == kDefaultKey) return {};
  return name;
}

std::string_view listed_name(std::string_view key) {
  if (key == kAccessKey) return acl::kAccessName;
  if (key == kDefaultKey) return acl::kDefaultName;
  return key;
}

// chmod of an inode (mu held exclusively) with an access ACL: the ACL takes the new bits.
int chmod_acl(Volume& vol, Inode& n, uint32_t mode) REQUIRES(n.mu) {
  if (!has_xattrs(n.disk)) return 0;
  XattrStore xs(vol, n.ino, n.disk);
  format::XattrMap m;
  if (int r = xs.load(&m); r < 0) return r;
  auto it = m.find(kAccessKey);
  if (it == m.end()) return 0;
  acl::Acl a;
  if (acl::decode(it->second, &a) < 0) return -EUCLEAN;
  acl::chmod(&a, mode);
  it->second = acl::encode(a);
  return xs.store(m);
}
}  // namespace

Result<Attr> FilesystemImpl::setattr(Ino ino, const SetAttr& set) {
  if (int r = writable()) return Error{r};
  Op op(*this);
  auto in = get(ino);
  if (!in) return Error{in.err()};
  Inode& n = **in;
  base::WriterLock l(n.mu);
  format::DiskInode& d = n.disk;
  auto t = now_ts();
  if (set.fields & SetAttr::kSize) {
    if (n.is_dir()) return Error{-EISDIR};
    if (!n.is_reg()) return Error{-EINVAL};
    if (set.size != d.size) {
      int r = FileIo(vol_, ino, d).truncate(set.size);
      if (r < 0) return Error{r};
    }
    d.mtime = t;  // also when the size stays the same, as ext4 does
  }
  if (set.fields & SetAttr::kMode) {
    if (int r = chmod_acl(vol_, n, set.mode); r < 0) return Error{r};
    d.mode = (d.mode & S_IFMT) | (set.mode & 07777);
  }
  if (set.fields & SetAttr::kUid) d.uid = set.uid;
  if (set.fields & SetAttr::kGid) d.gid = set.gid;
  if ((set.fields & (SetAttr::kUid | SetAttr::kGid)) && !(set.fields & SetAttr::kMode) && n.is_reg()) {
    // chown of a regular file drops set-user-ID, and set-group-ID when it means
    // "setgid" (group-execute set) rather than mandatory locking.
    d.mode &= ~S_ISUID;
    if (d.mode & S_IXGRP) d.mode &= ~S_ISGID;
  }
  if (set.fields & SetAttr::kAtime) d.atime = from_timespec(set.atime);
  if (set.fields & SetAttr::kAtimeNow) d.atime = t;
  if (set.fields & SetAttr::kMtime) d.mtime = from_timespec(set.mtime);
  if (set.fields & SetAttr::kMtimeNow) d.mtime = t;
  d.ctime = (set.fields & SetAttr::kCtime) ? from_timespec(set.ctime) : t;
  mark_dirty(n);
  return attr_of(n);
}

bool FilesystemImpl::atime_due(const Inode& in, const format::Timespec& t) const {
  if (opts_.atime == AtimeMode::kNoatime || read_only_) return false;
  if (opts_.nodiratime && in.is_dir()) return false;
  const format::DiskInode& d = in.disk;
  return opts_.atime != AtimeMode::kRelatime || ts_le(d.atime, d.mtime) || ts_le(d.atime, d.ctime) ||
         t.sec - d.atime.sec >= 24 * 3600;
}

bool FilesystemImpl::read_sets_atime(Ino ino) {
  auto in = get(ino);
  if (!in) return false;
  base::ReaderLock l((*in)->mu);
  return atime_due(**in, now_ts());
}

void FilesystemImpl::touch_atime(const InodeRef& in) {
  auto t = now_ts();
  {
    base::ReaderLock l(in->mu);
    if (!atime_due(*in, t)) return;
  }
  base::WriterLock l(in->mu);
  if (in->freed) return;
  in->disk.atime = t;
  mark_dirty(*in);
}

Result<size_t> FilesystemImpl::read(Ino ino, uint64_t off, size_t len, char* buf) {
  auto in = get(ino);
  if (!in) return Error{in.err()};
  Result<size_t> r = size_t{0};
  {
    base::ReaderLock l((*in)->mu);
    if ((*in)->is_dir()) return Error{-EISDIR};
    if (!(*in)->is_reg()) return Error{-EINVAL};
    r = FileIo(vol_, ino, (*in)->disk).read(off, len, buf);
  }
  if (r) touch_atime(*in);
  return r;
}

Result<size_t> FilesystemImpl::write(Ino ino, uint64_t off, const char* buf, size_t len) {
  if (int r = writable()) return Error{r};
  auto in = get(ino);
  if (!in) return Error{in.err()};
  Inode& n = **in;
  // Ordered mode: the write-back holds the gate exclusively while it writes the last data
  // and takes the transaction, so no block allocated here is mapped by a committed
  // transaction before its data is written (fs_impl.h lock order).
  Op op(*this);
  base::WriterLock l(n.mu);
  if (n.is_dir()) return Error{-EISDIR};
  if (!n.is_reg()) return Error{-EINVAL};
  // All or nothing when space is short: the kernel turns a short write inside an async
  // direct-I/O request into EIO, so refuse with ENOSPC before writing anything when the
  // holes of the range need more blocks than are available.
  FileIo io(vol_, ino, n.disk);
  auto need = io.blocks_needed(off, len);
  if (!need) return Error{need.err()};
  if (*need > vol_.balloc.available_blocks()) {
    // Freed blocks become allocatable once their transaction commits: try that first.
    l.unlock();
    op.unlock();
    reclaim();
    op.lock();
    l.lock();
    need = io.blocks_needed(off, len);
    if (!need) return Error{need.err()};
    if (*need > vol_.balloc.available_blocks()) return Error{-ENOSPC};
  }
  auto r = io.write(off, buf, len);
  if (r && *r > 0) {
    n.disk.mtime = n.disk.ctime = now_ts();
    mark_dirty(n);
  }
  return r;
}

int FilesystemImpl::fsync(Ino ino, bool datasync) {
  uint64_t cursor = write_error_cursor(ino);
  return fsync_file(ino, datasync, &cursor);
}

uint64_t FilesystemImpl::write_error_cursor(Ino ino) {
  auto in = get(ino);
  if (!in) return 0;
  Inode& n = **in;
  base::MutexLock l(n.err_mu);
  return n.err_seen ? n.err_seq : n.err_seq - 1;
}

int FilesystemImpl::fsync_file(Ino ino, bool /*datasync*/, uint64_t* cursor) {
  // 1. the file's dirty pages, written and waited for; the page cache returns each write
  // error of the file once, whoever started the write, and it is recorded here for the
  // cursors; 2. the write-back: any data left, the metadata that maps it, a device flush
  // (fs/cache/INTEGRATION.md, "fsync ordering").
  auto in = get(ino);
  if (!in) return in.err();
  Inode& n = **in;
  {
    base::ReaderLock l(n.mu);
    if (n.is_reg() && !n.freed) {
      if (int e = vol_.pages().fsync(ino); e < 0) {
        base::MutexLock el(n.err_mu);
        ++n.err_seq;
        n.err = e;
        n.err_seen = false;
      }
    }
  }
  int r = 0;
  {
    base::MutexLock g(sync_mu_);
    if (!read_only_) r = write_back(false, false, false);
  }
  base::MutexLock el(n.err_mu);
  if (n.err_seq == *cursor) return r;
  *cursor = n.err_seq;
  n.err_seen = true;
  return n.err;
}

int FilesystemImpl::fallocate(Ino ino, int mode, uint64_t off, uint64_t len) {
  if (int r = writable()) return r;
  if (len == 0) return -EINVAL;
  if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE) {
    // An allocation as large as what is free: let freed blocks become allocatable first.
    if (vol_.balloc.limbo_blocks() && len / kBlockSize >= vol_.balloc.available_blocks()) reclaim();
  }
  Op op(*this);
  auto in = get(ino);
  if (!in) return in.err();
  Inode& n = **in;
  base::WriterLock l(n.mu);
  if (n.is_dir()) return -EISDIR;
  if (!n.is_reg()) return -ENODEV;
  if (off >= format::kMaxFileSize || len > format::kMaxFileSize - off) return -EFBIG;
  FileIo io(vol_, ino, n.disk);
  int r = 0;
  bool keep = mode & FALLOC_FL_KEEP_SIZE;
  switch (mode & ~FALLOC_FL_KEEP_SIZE) {
    case 0:
      r = io.allocate(off, len);
      break;
    case FALLOC_FL_PUNCH_HOLE:
      if (!keep) return -EOPNOTSUPP;
      r = io.punch(off, len);
      break;
    case FALLOC_FL_ZERO_RANGE:
      r = io.zero_range(off, len);
      break;
    default:
      return -EOPNOTSUPP;
  }
  if (r == 0 && !keep && off + len > n.disk.size) n.disk.size = off + len;
  auto t = now_ts();
  n.disk.ctime = t;
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) n.disk.mtime = t;
  mark_dirty(n);
  return r;
}

Result<uint64_t> FilesystemImpl::lseek(Ino ino, uint64_t off, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return Error{-EINVAL};
  auto in = get(ino);
  if (!in) return Error{in.err()};
  base::ReaderLock l((*in)->mu);
  if (!(*in)->is_reg()) return Error{-EINVAL};
  return FileIo(vol_, ino, (*in)->disk).seek(off, whence);
}

namespace {
int check_xattr_name(std::string_view name, const Inode& in) REQUIRES_SHARED(in.mu) {
  if (name.empty() || name.size() > kNameMax) return -ERANGE;
  if (name == acl::kAccessName || name == acl::kDefaultName) return in.is_lnk() ? -EOPNOTSUPP : 0;
  if (storage_key(name).empty()) return -EOPNOTSUPP;
  std::string_view suffix;
  uint8_t ns = format::xattr_split(name, &suffix);
  if (ns == 0) return -EOPNOTSUPP;
  if (suffix.empty()) return -EINVAL;
  // As the kernel: user.* only on regular files and directories.
  if (ns == format::kXattrUser && !in.is_reg() && !in.is_dir()) return -EPERM;
  return 0;
}

// The value to store for an ACL set on n (empty: none), with the mode it implies in *mode.
int acl_value(const Inode& n, std::string_view name, std::string_view value, bool drop_sgid,
              std::string* out, uint32_t* mode) REQUIRES_SHARED(n.mu) {
  acl::Acl a;
  if (int r = acl::decode(value, &a)) return r;
  *mode = n.disk.mode;
  out->clear();
  if (name == acl::kDefaultName) {
    if (!n.is_dir()) return a.empty() ? 0 : -EACCES;
    if (!a.empty()) *out = acl::encode(a);
    return 0;
  }
  if (a.empty()) return 0;
  // As the kernel's posix_acl_update_mode: a list that says no more than the mode is not kept.
  if (!acl::equiv_mode(a, mode)) *out = acl::encode(a);
  if (drop_sgid) *mode &= ~S_ISGID;
  return 0;
}
}  // namespace

int FilesystemImpl::setxattr(Ino ino, std::string_view name, std::string_view value, int flags,
                             bool drop_sgid) {
  if (int r = writable()) return r;
  Op op(*this);
  if (value.size() > kXattrValueMax) return -E2BIG;
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -EINVAL;
  auto in = get(ino);
  if (!in) return in.err();
  Inode& n = **in;
  base::WriterLock l(n.mu);
  if (int r = check_xattr_name(name, n)) return r;
  std::string_view key = storage_key(name);
  bool is_acl = key != name;
  std::string acl_val;
  uint32_t mode = n.disk.mode;
  if (is_acl) {
    if (int r = acl_value(n, name, value, drop_sgid, &acl_val, &mode)) return r;
    value = acl_val;
  }
  XattrStore xs(vol_, ino, n.disk);
  format::XattrMap m;
  int r = xs.load(&m);
  if (r < 0) return r;
  auto it = m.find(key);
  if ((flags & XATTR_CREATE) && it != m.end()) return -EEXIST;
  if ((flags & XATTR_REPLACE) && it == m.end()) return -ENODATA;
  if (is_acl && value.empty()) {
    if (it != m.end()) m.erase(it);
  } else {
    m[std::string(key)] = std::string(value);
  }
  if ((r = xs.store(m)) < 0) return r;
  n.disk.mode = mode;
  n.disk.ctime = now_ts();
  mark_dirty(n);
  return 0;
}

Result<size_t> FilesystemImpl::getxattr(Ino ino, std::string_view name, char* buf, size_t size) {
  auto in = get(ino);
  if (!in) return Error{in.err()};
  Inode& n = **in;
  base::ReaderLock l(n.mu);
  if (name.empty() || name.size() > kNameMax) return Error{-ERANGE};
  std::string_view key = storage_key(name);
  std::string_view suffix;
  if (key.empty() || format::xattr_split(key, &suffix) == 0) return Error{-EOPNOTSUPP};
  if (!has_xattrs(n.disk)) return Error{-ENODATA};
  format::XattrMap m;
  int r = XattrStore(vol_, ino, n.disk).load(&m);
  if (r < 0) return Error{r};
  auto it = m.find(key);
  if (it == m.end()) return Error{-ENODATA};
  if (size == 0) return it->second.size();
  if (size < it->second.size()) return Error{-ERANGE};
  std::memcpy(buf, it->second.data(), it->second.size());
  return it->second.size();
}

Result<size_t> FilesystemImpl::listxattr(Ino ino, char* buf, size_t size) {
  auto in = get(ino);
  if (!in) return Error{in.err()};
  Inode& n = **in;
  base::ReaderLock l(n.mu);
  format::XattrMap m;
  int r = XattrStore(vol_, ino, n.disk).load(&m);
  if (r < 0) return Error{r};
  size_t need = 0;
  for (auto& [k, v] : m) need += listed_name(k).size() + 1;
  if (size == 0) return need;
  if (size < need) return Error{-ERANGE};
  for (auto& [k, v] : m) {
    std::string_view name = listed_name(k);
    std::memcpy(buf, name.data(), name.size());
    buf[name.size()] = '\0';
    buf += name.size() + 1;
  }
  return need;
}

int FilesystemImpl::removexattr(Ino ino, std::string_view name) {
  if (int r = writable()) return r;
  Op op(*this);
  auto in = get(ino);
  if (!in) return in.err();
  Inode& n = **in;
  base::WriterLock l(n.mu);
  if (name.empty() || name.size() > kNameMax) return -ERANGE;
  std::string_view key = storage_key(name);
  std::string_view suffix;
  if (key.empty() || format::xattr_split(key, &suffix) == 0) return -EOPNOTSUPP;
  XattrStore xs(vol_, ino, n.disk);
  format::XattrMap m;
  int r = xs.load(&m);
  if (r < 0) return r;
  auto it = m.find(key);
  if (it == m.end()) return key == name ? -ENODATA : 0;
  m.erase(it);
  if ((r = xs.store(m)) < 0) return r;
  n.disk.ctime = now_ts();
  mark_dirty(n);
  return 0;
}

int FilesystemImpl::inherit_acl(const Caller& who, Inode& dir, Inode& child) {
  format::DiskInode& d = child.disk;
  format::XattrMap dm;
  if (has_xattrs(dir.disk)) {
    if (int r = XattrStore(vol_, dir.ino, dir.disk).load(&dm); r < 0) return r;
  }
  auto it = dm.find(kDefaultKey);
  if (it == dm.end()) {
    d.mode &= ~(who.umask & 0777);
    return 0;
  }
  acl::Acl a;
  if (acl::decode(it->second, &a) < 0) return -EUCLEAN;
  format::XattrMap cm;
  if (child.is_dir()) cm[std::string(kDefaultKey)] = it->second;
  if (acl::create_masq(&a, &d.mode)) cm[std::string(kAccessKey)] = acl::encode(a);
  return cm.empty() ? 0 : XattrStore(vol_, child.ino, d).store(cm);
}

int FilesystemImpl::access(const Caller& who, Ino ino, int mask) {
  auto in = get(ino);
  if (!in) return in.err();
  format::DiskInode d;
  {
    base::ReaderLock l((*in)->mu);
    d = (*in)->disk;
  }
  if (mask == F_OK) return 0;
  if ((mask & W_OK) && read_only_) return -EROFS;
  if (who.uid == 0) {
    if ((mask & X_OK) && !S_ISDIR(d.mode) && !(d.mode & (S_IXUSR | S_IXGRP | S_IXOTH))) return -EACCES;
    return 0;
  }
  uint32_t bits = who.uid == d.uid ? (d.mode >> 6) & 7 : who.gid == d.gid ? (d.mode >> 3) & 7 : d.mode & 7;
  uint32_t want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);
  return (bits & want) == want ? 0 : -EACCES;
}

}  // namespace chainfs::fs
