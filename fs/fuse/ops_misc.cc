// Session and whole-inode operations: init, destroy, statfs, xattrs, access.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstring>
#include <memory>

#include "fs/fuse/caller_privs.h"
#include "fs/fuse/ops_common.h"
#include "fs/fuse/ops_internal.h"
#include "fs/meta/posix_acl.h"

namespace chainfs::fuse::detail {

namespace {
// The largest write request the kernel sends: libfuse 3.14 receives each request into a buffer
// of 256 pages plus the header, so 1 MiB is the most a write can carry.
constexpr unsigned kMaxWrite = 1u << 20;
}

void op_init(void* userdata, fuse_conn_info* conn) {
  auto* ctx = static_cast<Context*>(userdata);
  try {
    conn->max_write = kMaxWrite;
    conn->max_read = ctx->max_read;  // libfuse refuses INIT unless it equals -o max_read
    // The kernel then truncates with a SETATTR before OPEN, which carries the timestamps.
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    // File handles (open_by_handle_at, NFS export) are nodeid and generation; the kernel
    // resolves one it no longer caches with a LOOKUP of "." in that nodeid.
    conn->want |= FUSE_CAP_EXPORT_SUPPORT;
    // POSIX ACLs: the kernel checks permissions with them and caches them; chainfs stores
    // them, keeps them consistent with the mode and gives new inodes their directory's
    // default ACL. The kernel then leaves the umask to chainfs too (it sends it along), as
    // it must not apply where a default ACL decides.
    conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
    // cache=kernel is write-through unless the user adds -o writeback_cache (applied just
    // below): with FUSE's writeback cache, write(2) succeeds on a full filesystem and ENOSPC
    // or EIO surface only at a later fsync/close, unlike ext4, which reports them at write.
    if (ctx->options.cache == CacheMode::kKernel) conn->time_gran = 1;  // nanosecond timestamps
    if (ctx->conn_opts) fuse_apply_conn_info_opts(ctx->conn_opts, conn);  // the user's -o last
    if (ctx->options.cache == CacheMode::kDirect && (conn->want & FUSE_CAP_WRITEBACK_CACHE)) {
      spdlog::warn("cache=direct: ignoring writeback_cache");
      conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    }
    if (unsigned extra = conn->want & ~conn->capable) {
      // A wanted bit the kernel lacks makes libfuse abort INIT with EPROTO.
      spdlog::warn("kernel lacks FUSE capabilities {:#x}; not using them", extra);
      conn->want &= conn->capable;
    }
    ctx->writeback_cache = (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0;
    if (ctx->options.cache == CacheMode::kKernel && ctx->se)
      ctx->direct_writes = std::make_unique<DirectWriteReplies>(ctx->se);
    spdlog::info("FUSE protocol {}.{}, max_write {}, writeback cache {}, cache={}", conn->proto_major,
                 conn->proto_minor, conn->max_write, ctx->writeback_cache ? "on" : "off",
                 to_string(ctx->options.cache));
  } catch (...) {  // logging failed; the connection settings above stand
  }
}

void op_destroy(void* userdata) {
  // A fuseblk mount's umount(2) waits for the reply to DESTROY, which libfuse sends when this
  // returns: everything reaches the device first. (A plain fuse mount gets no DESTROY; libfuse
  // calls this when the session is destroyed, after the loop.)
  auto* ctx = static_cast<Context*>(userdata);
  ctx->direct_writes.reset();  // the queued direct-write replies are sent, their thread ends
  int r = ctx->fs->unmount();
  try {
    if (r < 0) spdlog::error("unmount: flushing the filesystem failed: {}", std::strerror(-r));
  } catch (...) {  // logging failed; the daemon's exit status does not depend on it
  }
}

void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, "statfs", ino, [&](Reply& r) {
    auto s = filesystem(r).statfs();
    if (!s) return r.error(s.err());
    struct statvfs st;
    std::memset(&st, 0, sizeof st);
    st.f_bsize = s->block_size;
    st.f_frsize = s->block_size;
    st.f_blocks = s->blocks;
    st.f_bfree = s->blocks_free;
    st.f_bavail = s->blocks_avail;
    st.f_files = s->files;
    st.f_ffree = s->files_free;
    st.f_favail = s->files_free;
    st.f_fsid = s->fsid;
    st.f_namemax = s->name_max;
    r.statfs(st);
  });
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  guarded(req, "setxattr", ino, [&](Reply& r) {
    fs::Filesystem& fs = filesystem(r);
    bool drop_sgid = false;
    if (name == fs::acl::kAccessName) {
      // The mode an access ACL sets loses set-group-ID unless the caller is in the file's
      // group or has CAP_FSETID, as chmod; the kernel leaves this to the filesystem.
      auto cur = fs.getattr(ino);
      if (!cur) return r.error(cur.err());
      if (cur->mode & S_ISGID) {
        const fuse_ctx* c = fuse_req_ctx(req);
        CallerPrivs p = caller_privs(c->pid, c->uid, c->gid);
        drop_sgid = !p.cap_fsetid && !p.in_group(cur->gid);
      }
    }
    r.error(fs.setxattr(ino, name, std::string_view(value, size), flags, drop_sgid));
  });
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  guarded(req, "getxattr", ino, [&](Reply& r) {
    if (size == 0) {  // the caller asks for the length
      auto n = filesystem(r).getxattr(ino, name, nullptr, 0);
      if (!n) return r.error(n.err());
      return r.xattr(*n);
    }
    std::unique_ptr<char[]> buf(new char[size]);
    auto n = filesystem(r).getxattr(ino, name, buf.get(), size);
    if (!n) return r.error(n.err());
    r.buf(buf.get(), *n);
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  guarded(req, "listxattr", ino, [&](Reply& r) {
    if (size == 0) {
      auto n = filesystem(r).listxattr(ino, nullptr, 0);
      if (!n) return r.error(n.err());
      return r.xattr(*n);
    }
    std::unique_ptr<char[]> buf(new char[size]);
    auto n = filesystem(r).listxattr(ino, buf.get(), size);
    if (!n) return r.error(n.err());
    r.buf(buf.get(), *n);
  });
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  guarded(req, "removexattr", ino, [&](Reply& r) { r.error(filesystem(r).removexattr(ino, name)); });
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  guarded(req, "access", ino, [&](Reply& r) { r.error(filesystem(r).access(caller(req), ino, mask)); });
}

}  // namespace chainfs::fuse::detail
