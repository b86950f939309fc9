#include "fs/fuse/transport.h"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/fuse/context.h"
#include "fs/fuse/fuse_wire.h"

namespace chainfs::fuse {

namespace {

size_t iov_total(const iovec* iov, int count) {
  size_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  return n;
}

// Copies up to len bytes between buf and the iovec list's bytes from off on: out of the
// list (to_iov false) or into it. Returns how many.
size_t iov_copy(const iovec* iov, int count, size_t off, void* buf, size_t len, bool to_iov) {
  size_t done = 0;
  for (int i = 0; i < count && done < len; ++i) {
    if (off >= iov[i].iov_len) {
      off -= iov[i].iov_len;
      continue;
    }
    size_t n = std::min(iov[i].iov_len - off, len - done);
    char* in_iov = static_cast<char*>(iov[i].iov_base) + off;
    char* in_buf = static_cast<char*>(buf) + done;
    if (to_iov) std::memcpy(in_iov, in_buf, n);
    else std::memcpy(in_buf, in_iov, n);
    done += n;
    off = 0;
  }
  return done;
}
size_t iov_read(const iovec* iov, int count, size_t off, void* dst, size_t len) {
  return iov_copy(iov, count, off, dst, len, false);
}

// libfuse hands the hooks the session's userdata: the Context, which points at the transport.
Transport* of(void* userdata) { return static_cast<Context*>(userdata)->transport; }

ssize_t hook_read(int fd, void* buf, size_t len, void* userdata) { return of(userdata)->read(fd, buf, len); }
ssize_t hook_writev(int fd, iovec* iov, int count, void* userdata) {
  return of(userdata)->writev(fd, iov, count);
}

}  // namespace

uint64_t add_init_flags(const TransportWants& wants, uint64_t offered, uint64_t* flags) {
  uint64_t want = 0;
  if (wants.parallel_dirops) want |= wire::kParallelDirops;
  if (wants.handle_killpriv_v2) want |= wire::kHandleKillprivV2;
  // The flags2 bits only exist in an extended INIT, in both directions.
  if (offered & wire::kInitExt) {
    if (wants.direct_io_allow_mmap) want |= wire::kDirectIoAllowMmap;
    if (wants.over_io_uring) want |= wire::kOverIoUring;
  }
  uint64_t add = want & offered & ~*flags;
  *flags |= add;
  if (*flags >> 32) *flags |= wire::kInitExt;
  return add;
}

int Transport::attach(fuse_session* se, int fd) {
  // No splice hooks: libfuse then neither splices requests nor replies, so every byte
  // passes through read() and writev() here.
  static const fuse_custom_io io = {hook_writev, hook_read, nullptr, nullptr};
  return fuse_session_custom_io(se, &io, fd < 0 ? fuse_session_fd(se) : fd);
}

InitResult Transport::init() const {
  base::MutexLock g(mu_);
  return init_;
}

void Transport::note_request(void* request, size_t len) {
  if (len < sizeof(fuse_in_header)) return;
  fuse_in_header h;
  std::memcpy(&h, request, sizeof h);
  if (h.opcode == wire::kOpTmpfile) {
    h.opcode = FUSE_CREATE;
    std::memcpy(request, &h, sizeof h);
  }
  if (h.opcode == FUSE_INIT) {
    fuse_init_in in{};
    std::memcpy(&in, static_cast<const char*>(request) + sizeof h, std::min(len - sizeof h, sizeof in));
    base::MutexLock g(mu_);
    init_unique_.store(h.unique, std::memory_order_release);
    init_.major = in.major;
    init_.minor = in.minor;
    init_.offered = in.flags;
    // flags2 is there only in an extended request long enough to hold it.
    if ((in.flags & wire::kInitExt) && len - sizeof h >= wire::kInitInFlags2End)
      init_.offered |= static_cast<uint64_t>(in.flags2) << 32;
    return;
  }
  if ((h.opcode == FUSE_OPEN || h.opcode == FUSE_CREATE) && track_opens_.load(std::memory_order_relaxed)) {
    base::MutexLock g(mu_);
    opens_[h.unique] = h.opcode;
    open_count_.store(opens_.size(), std::memory_order_release);
  }
}

ssize_t Transport::read(int fd, void* buf, size_t len) {
  ssize_t n = ::read(fd, buf, len);
  if (n > 0) {
    int saved = errno;  // libfuse looks at errno only on failure, but keep it intact anyway
    note_request(buf, static_cast<size_t>(n));
    errno = saved;
  }
  return n;
}

void Transport::patch_open_reply(iovec* iov, int count) {
  fuse_out_header out;
  if (iov_read(iov, count, 0, &out, sizeof out) != sizeof out) return;
  uint32_t opcode;
  {
    base::MutexLock g(mu_);
    auto it = opens_.find(out.unique);
    if (it == opens_.end()) return;
    opcode = it->second;
    opens_.erase(it);
    open_count_.store(opens_.size(), std::memory_order_release);
  }
  if (out.error != 0) return;
  size_t off = sizeof out + (opcode == FUSE_CREATE ? sizeof(fuse_entry_out) : 0);
  fuse_open_out oo;
  if (iov_read(iov, count, off, &oo, sizeof oo) != sizeof oo) return;
  // Only direct I/O opens: for page-cache opens the kernel ignores the flag anyway.
  if (!(oo.open_flags & FOPEN_DIRECT_IO)) return;
  oo.open_flags |= wire::kOpenParallelDirectWrites;
  iov_copy(iov, count, off, &oo, sizeof oo, true);
}

ssize_t Transport::send_init_reply(int fd, iovec* iov, int count) {
  fuse_out_header out;
  fuse_init_out init;
  size_t total = iov_total(iov, count);
  // An error reply, or an INIT reply for an old protocol (shorter than today's): as is.
  if (total != sizeof out + sizeof init) return ::writev(fd, iov, count);
  iov_read(iov, count, 0, &out, sizeof out);
  if (out.error != 0) return ::writev(fd, iov, count);
  iov_read(iov, count, sizeof out, &init, sizeof init);

  InitResult r = this->init();
  uint64_t flags = init.flags;
  if (init.flags & wire::kInitExt) flags |= static_cast<uint64_t>(init.flags2) << 32;
  TransportWants w = wants_;
  w.over_io_uring = w.over_io_uring && ring_ != nullptr;
  add_init_flags(w, r.offered, &flags);
  if (wants_.max_readahead > init.max_readahead) init.max_readahead = wants_.max_readahead;
  r.max_readahead = init.max_readahead;
  r.max_write = init.max_write;
  r.max_pages = (flags & FUSE_MAX_PAGES) ? init.max_pages : 0;
  r.replied = flags;

  // The ring must be ready to register before the kernel learns it will be used.
  bool ring = false;
  if (flags & wire::kOverIoUring) {
    ring = ring_->prepare(r);
    if (!ring) {
      flags &= ~wire::kOverIoUring;
      r.replied = flags;
    }
  }
  init.flags = static_cast<uint32_t>(flags);
  init.flags2 = static_cast<uint32_t>(flags >> 32);
  iovec v[2] = {{&out, sizeof out}, {&init, sizeof init}};
  ssize_t n = ::writev(fd, v, 2);
  int saved = errno;
  if (n >= 0) {
    {
      base::MutexLock g(mu_);
      init_ = r;
    }
    init_unique_.store(0, std::memory_order_release);
    // FOPEN_PARALLEL_DIRECT_WRITES is protocol 7.38.
    track_opens_.store(wants_.parallel_direct_writes && r.minor >= 38, std::memory_order_relaxed);
    init_done_.store(true, std::memory_order_release);
    if (ring) {
      ring_active_.store(true, std::memory_order_release);
      ring_->start();
    }
    if (init_cb_) init_cb_(r);
  }
  errno = saved;
  return n;
}

ssize_t Transport::writev(int fd, iovec* iov, int count) {
  if (count < 1 || iov[0].iov_len < sizeof(fuse_out_header)) return ::writev(fd, iov, count);
  const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
  if (out->unique != 0) {
    if (out->unique == init_unique_.load(std::memory_order_acquire)) return send_init_reply(fd, iov, count);
    if (open_count_.load(std::memory_order_acquire) != 0) patch_open_reply(iov, count);
    if (ring_ && ring_active_.load(std::memory_order_acquire) && ring_->take_reply(iov, count))
      return static_cast<ssize_t>(iov_total(iov, count));
  }
  return ::writev(fd, iov, count);
}

}  // namespace chainfs::fuse
