#pragma once
// UringTransport: FUSE-over-io_uring (-o transport=uring). The kernel hands requests to
// ring entries instead of /dev/fuse reads, and takes the replies with the command that
// fetches the next request, so a round trip is one io_uring_enter() instead of a write
// and a read. Kernel ABI (protocol 7.42):
//  - a ring created with IORING_SETUP_SQE128; IORING_OP_URING_CMD SQEs on the /dev/fuse
//    descriptor, the command (fuse_wire.h UringCmdReq) in the SQE's 80-byte area;
//  - FUSE_IO_URING_CMD_REGISTER hands the kernel an entry (a 288-byte header buffer and a
//    payload buffer of at least max(8 KiB, max_write, max_pages pages)) and completes when
//    a request sits in it; COMMIT_AND_FETCH answers that request and waits for the next;
//  - one queue per possible CPU (the kernel routes a request to the queue of the CPU its
//    sender runs on), and every queue needs a registered entry before the first request:
//    once FUSE_OVER_IO_URING is in the INIT reply, the kernel holds new requests until then;
//  - the kernel copies a request into an entry from the task that submitted the entry's
//    last command, so each entry stays with the thread of its ring.
// The request is rebuilt in /dev/fuse format in front of the payload (the payload itself
// is not copied) and handed to libfuse's fuse_session_process_buf(): the same handlers
// serve both transports. The reply comes back through Transport::writev(), which gives it
// to take_reply(), from any thread: a handler may hand its request to another thread and
// reply later, as on /dev/fuse. A reply on the serving thread is committed when the handler
// returns; one from another thread is queued on the entry's ring and the ring's thread,
// woken through its eventfd, commits it. INIT, FORGET, INTERRUPT and notifications stay on
// /dev/fuse, served by libfuse's own loop.
// Teardown: at unmount (or an aborted connection) the kernel ends every entry with
// -ENOTCONN; stop() then wakes the threads through their eventfds and frees the rings; a
// reply that comes after that goes to /dev/fuse, which refuses it. If the daemon dies,
// closing the rings and /dev/fuse aborts the connection the same way.
#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "fs/fuse/transport.h"

struct fuse_session;

namespace chainfs::fuse {

class UringTransport final : public RingHook {
 public:
  struct Config {
    // Each thread has one entry, so a handler blocked on the device holds only its own.
    // Kernel readahead keeps several reads in flight on the reader's queue: with 2 per
    // queue cold sequential reads were slower than on /dev/fuse's 10 threads, with 4 not.
    unsigned threads_per_queue = 4;
    // Written to abort the connection if registration fails after INIT (the kernel would
    // otherwise hold every request forever): /sys/fs/fuse/connections/N/abort.
    std::string abort_path;
  };

  struct Entry;  // a registered buffer pair and the request in it (uring_transport.cc)
  struct Ring;   // one io_uring, its thread and its entries

  UringTransport(fuse_session* se, Transport* transport, int fuse_fd, Config cfg);
  ~UringTransport() override;
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  bool prepare(const InitResult& init) override EXCLUDES(mu_);
  void start() override EXCLUDES(mu_);
  bool take_reply(const iovec* iov, int count) override EXCLUDES(pending_mu_);

  // Wakes and joins the ring threads (after the session loop ended). Idempotent.
  void stop() EXCLUDES(mu_, pending_mu_);

  unsigned queues() const { return nr_queues_; }
  unsigned threads() const { return static_cast<unsigned>(rings_.size()); }
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

  // "Y" in /sys/module/fuse/parameters/enable_uring: the kernel offers the ring.
  static bool kernel_enabled();
  // Number of possible CPUs, i.e. queues the kernel expects (/sys/devices/system/cpu/possible).
  static unsigned possible_cpus();

 private:
  void run(Ring* r) EXCLUDES(mu_);
  // A request arrived in e: serves it. kLater: the handler handed the request to another
  // thread, whose reply wakes the ring; kBroken: the entry holds no valid request.
  enum class Served { kReplied, kLater, kBroken };
  Served serve(Entry* e) EXCLUDES(pending_mu_);
  void fatal(const std::string& what);

  fuse_session* se_;
  Transport* transport_;
  int fd_;
  Config cfg_;
  unsigned nr_queues_ = 0;
  size_t payload_size_ = 0;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<std::thread> threads_;
  // The start-up handshake: each ring thread reports ready or failed, then waits for go_
  // (or stopping_).
  base::Mutex mu_;
  base::CondVar cv_;
  unsigned ready_ GUARDED_BY(mu_) = 0;
  unsigned failed_ GUARDED_BY(mu_) = 0;
  bool go_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<bool> rings_stopping_{false};  // stop(): the ring threads end when woken
  // The ring requests being served, by unique: where a reply from any thread goes.
  base::Mutex pending_mu_;
  std::unordered_map<uint64_t, Entry*> pending_ GUARDED_BY(pending_mu_);
  bool closed_ GUARDED_BY(pending_mu_) = false;  // the rings are gone: replies go to /dev/fuse
  std::atomic<bool> fatal_{false};
  std::atomic<uint64_t> requests_{0};
};

}  // namespace chainfs::fuse
