// File data operations: create, open, read, write, flush, release, fsync, fallocate, lseek.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "fs/fuse/caller_privs.h"
#include "fs/fuse/ops_common.h"
#include "fs/fuse/ops_internal.h"
#include "fs/fuse/transport.h"

namespace chainfs::fuse::detail {

namespace {

// One open file, in fi->fh from open to release: its write-error cursor, so that each open
// file sees a write error of the data once (Filesystem::fsync_file).
struct OpenFile {
  uint64_t error_cursor = 0;
};

OpenFile* open_file(const fuse_file_info* fi) { return reinterpret_cast<OpenFile*>(fi->fh); }

// cache=direct: the kernel page cache is bypassed, chainfs sees the application's own
// write sizes. cache=kernel: the cache stays valid across opens (single writer), except when
// a read would set the access time (strictatime, or relatime after a change): a read served
// from the cache reaches no one (FUSE inodes are S_NOATIME in the kernel), so such an open
// drops the file's cached pages and its first read comes here, as on ext4.
// Allocates the OpenFile (std::bad_alloc -> ENOMEM in guarded()).
void set_open_flags(const Context& ctx, fs::Filesystem& fs, fuse_ino_t ino, fuse_file_info* fi) {
  fi->fh = reinterpret_cast<uint64_t>(new OpenFile{fs.write_error_cursor(ino)});
  // close() sends no FLUSH: chainfs's flush does nothing, and close() promises no
  // durability (ext4's does not write back either). The kernel still sends FLUSH with
  // -o writeback_cache, where it first writes its dirty pages back.
  fi->noflush = 1;
  if (ctx.options.cache == CacheMode::kDirect) {
    fi->direct_io = 1;
    fi->keep_cache = 0;
  } else {
    fi->direct_io = 0;
    bool reads = (fi->flags & O_ACCMODE) != O_WRONLY && !(fi->flags & O_NOATIME);
    fi->keep_cache = !(reads && fs.read_sets_atime(ino));
  }
}

// A per-thread read buffer: a FUSE worker serves one request at a time, and max_read
// bounds the size (1 MiB), so it is allocated once per thread instead of per request.
char* read_buffer(size_t size) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t cap = 0;
  if (cap < size) {
    buf.reset(new char[size]);  // std::bad_alloc -> ENOMEM in guarded()
    cap = size;
  }
  return buf.get();
}

}  // namespace

void drop_privs_for_data_change(Reply& r, fuse_req_t req, fuse_ino_t ino) {
  fs::Filesystem& fs = filesystem(r);
  auto a = fs.getattr(ino);
  if (!a || !(a->mode & (S_ISUID | S_ISGID))) return;  // the common case: nothing to read from /proc
  const fuse_ctx* c = fuse_req_ctx(req);
  uint32_t drop = privs_to_drop(a->mode, a->gid, caller_privs(c->pid, c->uid, c->gid));
  if (!drop) return;
  fs::SetAttr set;
  set.fields = fs::SetAttr::kMode;
  set.mode = a->mode & 07777 & ~drop;
  if (!fs.setattr(ino, set)) return;
  if (r.ctx().se) fuse_lowlevel_notify_inval_inode(r.ctx().se, ino, -1, 0);  // attributes only
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  guarded(req, "create", parent, [&](Reply& r) {
    fs::Filesystem& fs = filesystem(r);
    auto a = std::strcmp(name, kTmpfileName) == 0 ? fs.tmpfile(caller(req), parent, mode)
                                                   : fs.mknod(caller(req), parent, name, S_IFREG | (mode & 07777), 0);
    if (!a) return r.error(a.err());
    if (int e = fs.open(a->ino); e < 0) {
      fs.forget(a->ino, 1);
      return r.error(e);
    }
    set_open_flags(r.ctx(), fs, a->ino, fi);
    if (!r.create(to_entry(*a, r.ctx().timeout_s), fi)) {  // the caller went away
      delete open_file(fi);
      fs.release(a->ino);
      fs.forget(a->ino, 1);
    }
  });
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "open", ino, [&](Reply& r) {
    fs::Filesystem& fs = filesystem(r);
    // O_TRUNC never arrives here: init() leaves atomic_o_trunc off, so the kernel
    // truncates with a SETATTR first, with the timestamps POSIX asks for.
    if (int e = fs.open(ino); e < 0) return r.error(e);
    set_open_flags(r.ctx(), fs, ino, fi);
    if (!r.open(fi)) {
      delete open_file(fi);
      fs.release(ino);
    }
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  guarded(req, "read", ino, [&](Reply& r) {
    if (off < 0) return r.error(-EINVAL);
    if (r.ctx().direct_writes) r.ctx().direct_writes->note_read(ino);
    char* buf = read_buffer(size);
    auto n = filesystem(r).read(ino, static_cast<uint64_t>(off), size, buf);
    if (!n) return r.error(n.err());
    r.buf(buf, *n);
  });
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  // The offset is the kernel's: for O_APPEND it has already placed the write at the end.
  guarded(req, "write", ino, [&](Reply& r) {
    if (off < 0) return r.error(-EINVAL);
    // The kernel leaves this to chainfs (FUSE_HANDLE_KILLPRIV_V2 in the INIT reply; without
    // it, it removed set-user-ID itself only for cached writes and never set-group-ID of a
    // caller outside the group); write-back of the kernel's dirty pages (writepage) has no
    // caller and, as a store through a mapping on ext4, changes no mode.
    if (!fi->writepage) drop_privs_for_data_change(r, req, ino);
    auto n = filesystem(r).write(ino, static_cast<uint64_t>(off), buf, size);
    if (!n) return r.error(n.err());
    // An O_DIRECT write past the kernel's page cache: pages read meanwhile must go first.
    if ((fi->flags & O_DIRECT) && r.ctx().direct_writes && *n > 0 && r.ctx().direct_writes->may_be_cached(ino)) {
      if (fuse_req_t q = r.hand_over()) r.ctx().direct_writes->push(q, ino, off, *n);
      return;
    }
    r.write(*n);
  });
}

void op_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  // close() promises no durability; data reaches the device on fsync, unmount and the
  // periodic flush. The kernel has written its dirty pages before sending FLUSH.
  guarded(req, "flush", ino, [&](Reply& r) { r.ok(); });
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "release", ino, [&](Reply& r) {
    delete open_file(fi);
    filesystem(r).release(ino);
    r.ok();
  });
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  guarded(req, "fsync", ino, [&](Reply& r) {
    OpenFile* f = open_file(fi);
    fs::Filesystem& fs = filesystem(r);
    r.error(f ? fs.fsync_file(ino, datasync != 0, &f->error_cursor) : fs.fsync(ino, datasync != 0));
  });
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* /*fi*/) {
  guarded(req, "fallocate", ino, [&](Reply& r) {
    if (offset < 0 || length <= 0) return r.error(-EINVAL);
    drop_privs_for_data_change(r, req, ino);
    r.error(filesystem(r).fallocate(ino, mode, static_cast<uint64_t>(offset), static_cast<uint64_t>(length)));
  });
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* /*fi*/) {
  guarded(req, "lseek", ino, [&](Reply& r) {
    // The kernel resolves SEEK_SET/CUR/END itself; only SEEK_DATA and SEEK_HOLE come here.
    if (whence != SEEK_DATA && whence != SEEK_HOLE) return r.error(-EINVAL);
    if (off < 0) return r.error(-ENXIO);
    auto pos = filesystem(r).lseek(ino, static_cast<uint64_t>(off), whence);
    if (!pos) return r.error(pos.err());
    r.lseek(static_cast<off_t>(*pos));
  });
}

}  // namespace chainfs::fuse::detail
