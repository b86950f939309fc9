// Namespace operations: lookup, forget, getattr, setattr, mknod, mkdir, unlink, rmdir,
// symlink, readlink, rename, link.
#include <sys/stat.h>

#include <cstring>
#include <string>

#include "fs/fuse/caller_privs.h"
#include "fs/fuse/ops_common.h"
#include "fs/fuse/ops_internal.h"

namespace chainfs::fuse::detail {

struct stat to_stat(const fs::Attr& a) {
  struct stat st;
  a.to_stat(&st);
  return st;
}

fuse_entry_param to_entry(const fs::Attr& a, double timeout) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  e.ino = a.ino;
  e.generation = a.generation;
  e.attr = to_stat(a);
  e.attr_timeout = timeout;
  e.entry_timeout = timeout;
  return e;
}

void reply_entry(Reply& r, const fs::Attr& a) {
  if (!r.entry(to_entry(a, r.ctx().timeout_s))) filesystem(r).forget(a.ino, 1);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "lookup", parent, [&](Reply& r) {
    auto a = filesystem(r).lookup(parent, name);
    if (a) return reply_entry(r, *a);
    if (a.err() == -ENOENT) {
      // A negative entry (ino 0) the kernel may cache: creations through this mount
      // invalidate it, and there is no other writer.
      fuse_entry_param e;
      std::memset(&e, 0, sizeof e);
      e.entry_timeout = r.ctx().timeout_s;
      r.entry(e);
      return;
    }
    r.error(a.err());
  });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  guarded(req, "forget", ino, [&](Reply& r) {
    filesystem(r).forget(ino, nlookup);
    r.none();
  });
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  guarded(req, "forget_multi", 0, [&](Reply& r) {
    for (size_t i = 0; i < count; ++i) filesystem(r).forget(forgets[i].ino, forgets[i].nlookup);
    r.none();
  });
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  guarded(req, "getattr", ino, [&](Reply& r) {
    auto a = filesystem(r).getattr(ino);
    if (!a) return r.error(a.err());
    r.attr(to_stat(*a), r.ctx().timeout_s);
  });
}

fs::SetAttr to_setattr(const struct stat* attr, int to_set) {
  fs::SetAttr s;
  if (to_set & FUSE_SET_ATTR_MODE) {
    s.fields |= fs::SetAttr::kMode;
    s.mode = attr->st_mode & 07777;
  }
  if (to_set & FUSE_SET_ATTR_UID) {
    s.fields |= fs::SetAttr::kUid;
    s.uid = attr->st_uid;
  }
  if (to_set & FUSE_SET_ATTR_GID) {
    s.fields |= fs::SetAttr::kGid;
    s.gid = attr->st_gid;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    s.fields |= fs::SetAttr::kSize;
    s.size = static_cast<uint64_t>(attr->st_size);
  }
  // UTIME_NOW arrives as ATIME|ATIME_NOW; UTIME_OMIT as neither bit.
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    s.fields |= fs::SetAttr::kAtimeNow;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    s.fields |= fs::SetAttr::kAtime;
    s.atime = attr->st_atim;
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    s.fields |= fs::SetAttr::kMtimeNow;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    s.fields |= fs::SetAttr::kMtime;
    s.mtime = attr->st_mtim;
  }
  if (to_set & FUSE_SET_ATTR_CTIME) {
    s.fields |= fs::SetAttr::kCtime;
    s.ctime = attr->st_ctim;
  }
  return s;
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* /*fi*/) {
  // With or without a file handle (ftruncate): chainfs works on inodes, and the kernel
  // has already checked the caller's rights against the open file.
  guarded(req, "setattr", ino, [&](Reply& r) {
    fs::SetAttr set = to_setattr(attr, to_set);
    if (set.fields & fs::SetAttr::kSize) {
      // A truncate by an unprivileged caller removes set-user-ID and set-group-ID as a write
      // does; the kernel has dropped only what it drops itself (in the mode it sends along).
      auto cur = filesystem(r).getattr(ino);
      if (!cur) return r.error(cur.err());
      uint32_t mode = (set.fields & fs::SetAttr::kMode) ? (cur->mode & S_IFMT) | set.mode : cur->mode;
      if (mode & (S_ISUID | S_ISGID)) {
        const fuse_ctx* c = fuse_req_ctx(req);
        if (uint32_t drop = privs_to_drop(mode, cur->gid, caller_privs(c->pid, c->uid, c->gid))) {
          set.fields |= fs::SetAttr::kMode;
          set.mode = mode & 07777 & ~drop;
        }
      }
    }
    auto a = filesystem(r).setattr(ino, set);
    if (!a) return r.error(a.err());
    r.attr(to_stat(*a), r.ctx().timeout_s);
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  guarded(req, "mknod", parent, [&](Reply& r) {
    auto a = filesystem(r).mknod(caller(req), parent, name, mode, rdev);
    if (!a) return r.error(a.err());
    reply_entry(r, *a);
  });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  guarded(req, "mkdir", parent, [&](Reply& r) {
    auto a = filesystem(r).mkdir(caller(req), parent, name, mode);
    if (!a) return r.error(a.err());
    reply_entry(r, *a);
  });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "unlink", parent, [&](Reply& r) { r.error(filesystem(r).unlink(parent, name)); });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "rmdir", parent, [&](Reply& r) { r.error(filesystem(r).rmdir(parent, name)); });
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  guarded(req, "symlink", parent, [&](Reply& r) {
    auto a = filesystem(r).symlink(caller(req), parent, name, target);
    if (!a) return r.error(a.err());
    reply_entry(r, *a);
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, "readlink", ino, [&](Reply& r) {
    auto t = filesystem(r).readlink(ino);
    if (!t) return r.error(t.err());
    r.readlink(t->c_str());
  });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  guarded(req, "rename", parent, [&](Reply& r) {
    r.error(filesystem(r).rename(parent, name, newparent, newname, flags, caller(req)));
  });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  guarded(req, "link", ino, [&](Reply& r) {
    auto a = filesystem(r).link(ino, newparent, newname);
    if (!a) return r.error(a.err());
    reply_entry(r, *a);
  });
}

}  // namespace chainfs::fuse::detail
