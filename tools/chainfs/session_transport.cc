#include "tools/chainfs/session_transport.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fs/fuse/fuse_wire.h"
#include "fs/fuse/transport.h"
#include "fs/fuse/uring_transport.h"

namespace chainfs::daemon {

using namespace fuse;

namespace {

constexpr const char* kEnableUring = "/sys/module/fuse/parameters/enable_uring";

std::string granted_list(const InitResult& r) {
  std::string s;
  auto add = [&](uint64_t bit, const char* name) {
    if (!r.granted(bit)) return;
    if (!s.empty()) s += ',';
    s += name;
  };
  add(wire::kParallelDirops, "parallel_dirops");
  add(wire::kHandleKillprivV2, "handle_killpriv_v2");
  add(wire::kDirectIoAllowMmap, "direct_io_allow_mmap");
  return s.empty() ? "none" : s;
}

}  // namespace

SessionTransport::SessionTransport() = default;
SessionTransport::~SessionTransport() { stop(); }

int set_mount_readahead(const std::string& conn, uint64_t bytes) {
  if (conn.empty()) return -ENOENT;
  std::string path = "/sys/class/bdi/" + conn + "/read_ahead_kb";
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  std::string v = std::to_string(bytes / 1024) + "\n";
  ssize_t n = write(fd, v.data(), v.size());
  int e = n < 0 ? -errno : 0;
  close(fd);
  return e;
}

int SessionTransport::setup(fuse_session* se, Context* ctx, const Options& opts, const std::string& conn) {
  TransportWants w;
  // Lookups and readdirs take a directory's lock shared (fs/meta), so the kernel may send
  // them in parallel; with cache=direct, shared mmap goes through the page cache, and
  // direct writes to one file may come in parallel (chainfs orders them per inode).
  w.parallel_dirops = true;
  // chainfs drops set-ID bits itself on write and truncate (fs/fuse ops_file.cc, the
  // caller's CAP_FSETID and groups from /proc) and on chown (fs/meta setattr); the kernel
  // still removes security.capability through REMOVEXATTR when a file has one.
  w.handle_killpriv_v2 = true;
  w.direct_io_allow_mmap = true;
  w.parallel_direct_writes = opts.cache == CacheMode::kDirect;
  w.max_readahead = static_cast<uint32_t>(opts.readahead);
  bool uring = opts.transport == TransportKind::kUring;
  if (uring && !UringTransport::kernel_enabled()) {
    spdlog::warn("transport=uring: the kernel does not offer FUSE-over-io_uring ({} is not Y; as root: "
                 "echo Y > {}); using transport=dev",
                 kEnableUring, kEnableUring);
    uring = false;
  }
  w.over_io_uring = uring;
  transport_ = std::make_unique<Transport>(w);
  if (uring) {
    UringTransport::Config cfg;
    if (auto colon = conn.find(':'); colon != std::string::npos)
      cfg.abort_path = "/sys/fs/fuse/connections/" + conn.substr(colon + 1) + "/abort";
    uring_ = std::make_unique<UringTransport>(se, transport_.get(), fuse_session_fd(se), cfg);
    transport_->set_ring(uring_.get());
  }
  transport_->on_init([this, requested = uring](const InitResult& r) {
    if (transport_->ring_active())
      spdlog::info("transport: uring ({} queues, {} ring threads); capabilities added: {}", uring_->queues(),
                   uring_->threads(), granted_list(r));
    else
      spdlog::info("transport: dev{}; capabilities added: {}",
                   requested ? " (the FUSE-over-io_uring setup failed, see above)" : "", granted_list(r));
  });
  // Before the INIT reply: the kernel then keeps min(this, the reply's max_readahead).
  if (opts.readahead) {
    if (int e = set_mount_readahead(conn, opts.readahead); e < 0) {
      // Only root may write it: without -o readahead= that is no news.
      if (opts.readahead_given) spdlog::warn("readahead: cannot set the mount's read_ahead_kb: {}", std::strerror(-e));
      else spdlog::debug("readahead: cannot set the mount's read_ahead_kb: {}", std::strerror(-e));
    }
  }
  ctx->transport = transport_.get();
  return transport_->attach(se);
}

void SessionTransport::stop() {
  if (!uring_ || stopped_) return;
  stopped_ = true;
  uring_->stop();
  if (transport_->ring_active()) spdlog::info("transport=uring: {} requests served by the ring", uring_->requests());
}

}  // namespace chainfs::daemon
