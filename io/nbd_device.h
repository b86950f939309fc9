#pragma once
// NbdDevice: the device on a Network Block Device server, through libnbd, in userspace (no
// kernel nbd module). The same two faces as UringDevice:
//  * Device: synchronous readv/writev/flush, each one bio submitted and waited for;
//  * BioDevice: bios go out as libnbd aio_pread/aio_pwrite/aio_flush commands; one driver
//    thread per connection (the reaper's part) polls the socket, lets libnbd read the
//    replies and hands finished requests to the completion side (completion_thread.h).
// Several requests are in flight on each connection; when the server offers multi-conn
// (a flush on one connection covers the writes completed on all of them), requests are
// spread over `connections` connections (as many as the server admits), else there is one.
//
// Limits: the server's minimum block size (at least 512) is the logical block size, its
// maximum (capped at max_request_bytes) the largest request, its preferred size the optimal
// I/O size. libnbd takes one buffer per command, so a bio of several segments goes through
// one bounce buffer (copied in before a write, out after a read). The engine's durability
// request is a flush (kFlush => NBD_CMD_FLUSH); a server that cannot flush writes through,
// and a flush then completes at once.
//
// A server that goes away:
//  * a request without a reply after request_timeout drops its connection (one log line);
//    every request in flight on a dropped or broken connection fails with -EIO;
//  * the driver reconnects (once a second, each attempt bounded by request_timeout); a new
//    request waits for a connection up to request_timeout, and no longer than one timeout
//    since the last connection went down, then fails with -EIO;
//  * writes that completed after the last successful flush may be gone with the server (its
//    cache), so the first flush after a lost connection fails with -EIO: an fsync never
//    reports as durable what it cannot know is.
// NBD has no exclusive open. OpenOptions::exclusive takes a lock on this machine instead:
// flock(2) on /run/lock/chainfs-nbd-HASH.lock, HASH a hash of the URI as given (LOCK_SH for
// read-only opens; busy_wait_ms as for local devices, then -EBUSY). It keeps two chainfs of
// one machine off one export (and a new mount off it until the previous daemon is done);
// clients on other machines, or the same export under another URI, it cannot see.
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/bio_device.h"
#include "io/completion_thread.h"
#include "io/device.h"
#include "io/io_stats.h"

namespace chainfs::io {

struct NbdOptions {
  CompletionMode completion = CompletionMode::kThread;
  unsigned request_timeout_s = 30;       // no reply within this: the connection is dropped
  unsigned connections = 2;              // used only if the server offers multi-conn
  unsigned queue_depth = 64;             // most requests in flight on the device
  uint64_t max_request_bytes = 1u << 20;  // upper bound on the server's maximum block size
};

// True for the URIs libnbd connects to: nbd://, nbds://, nbd+unix://, nbds+unix://,
// nbd+vsock://, nbds+vsock://.
bool is_nbd_uri(std::string_view name);

class NbdDevice final : public Device, public BioDevice {
 public:
  // Connects to uri (read-only if opts.read_only; -EROFS for a writable open of a read-only
  // export) and starts the driver threads; 0 or -errno (-ECONNREFUSED, -ETIMEDOUT, ...).
  // *error, if given, gets libnbd's message on failure.
  static int open(const std::string& uri, const OpenOptions& opts, const NbdOptions& nopts,
                  std::unique_ptr<NbdDevice>* out, std::string* error = nullptr);
  // Waits for everything in flight (bounded by the timeout), then disconnects.
  ~NbdDevice() override;

  uint64_t size_bytes() const override { return size_; }
  const QueueLimits& limits() const override { return limits_; }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int flush() override;
  BioDevice* bio_face() override { return this; }

  using BioDevice::submit;
  void submit(Bio* const* bios, size_t n) override;
  void wait_until(const std::function<bool()>& done) override;
  uint32_t in_flight() const override { return in_flight_.load(std::memory_order_acquire); }
  IoStats& stats() override { return stats_; }

  unsigned connection_count() const { return static_cast<unsigned>(conns_.size()); }
  bool multi_conn() const { return multi_conn_; }
  bool can_flush() const { return can_flush_; }
  // Connections lost (dropped on a timeout or broken) and re-established since open.
  uint64_t connections_lost() const { return lost_count_.load(); }
  uint64_t reconnects() const { return reconnect_count_.load(); }

  class Conn;  // one connection and its driver thread (nbd_device.cc)

 private:
  NbdDevice(std::string uri, const OpenOptions& opts, const NbdOptions& nopts);
  // The machine-local claim on uri (see above); 0 or -errno (-EBUSY). The last holder to
  // let go removes the lock file.
  int claim();
  void release_claim();
  void submit_leaf(Bio* b) EXCLUDES(mu_, dur_mu_);
  // A finished request: status, statistics, durability bookkeeping, completion side.
  void complete(Bio* b, int status, uint64_t write_gen) EXCLUDES(mu_, dur_mu_);
  // Called by a connection's driver when it loses its connection.
  void on_connection_lost() EXCLUDES(mu_, dur_mu_);

  friend class Conn;
  const std::string uri_;
  const OpenOptions opts_;
  const NbdOptions nopts_;
  DeviceFd lock_;  // the claim, released when the device closes
  std::string lock_path_;
  uint64_t size_ = 0;
  QueueLimits limits_;
  bool multi_conn_ = false;
  bool can_flush_ = true;
  IoStats stats_;

  // In-flight bound (slot_cv_) and connection readiness (ready_cv_).
  base::Mutex mu_;
  base::CondVar slot_cv_, ready_cv_;
  // When the last connection went down; empty while one is up.
  std::optional<std::chrono::steady_clock::time_point> down_since_ GUARDED_BY(mu_);
  std::atomic<uint32_t> in_flight_{0};
  std::atomic<unsigned> next_conn_{0};

  // Durability: write_gen_ counts completed writes; a flush makes durable those completed
  // before it was submitted; lost_ says a connection died with writes not yet flushed.
  base::Mutex dur_mu_;
  uint64_t write_gen_ GUARDED_BY(dur_mu_) = 0;
  uint64_t durable_gen_ GUARDED_BY(dur_mu_) = 0;
  bool lost_ GUARDED_BY(dur_mu_) = false;

  std::atomic<uint64_t> lost_count_{0}, reconnect_count_{0};
  std::unique_ptr<CompletionThread> completions_;
  std::vector<std::unique_ptr<Conn>> conns_;  // declared last: stopped first
};

}  // namespace chainfs::io
