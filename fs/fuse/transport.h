#pragma once
// Transport: chainfs's own read and writev on the session's /dev/fuse descriptor, installed
// with fuse_session_custom_io(). libfuse 3.14 still parses, dispatches and builds every
// request and reply; the transport sees both directions on the wire and
//  - adds to the INIT reply the capabilities 3.14 cannot negotiate (FUSE_PARALLEL_DIROPS,
//    which 3.14 wants by default but never sends; FUSE_DIRECT_IO_ALLOW_MMAP and
//    FUSE_OVER_IO_URING in flags2), each only when the kernel offered it;
//  - raises the INIT reply's max_readahead to what chainfs asks for;
//  - adds FOPEN_PARALLEL_DIRECT_WRITES to OPEN and CREATE replies that set FOPEN_DIRECT_IO;
//  - hands replies that belong to a FUSE-over-io_uring entry to the ring (RingHook) instead
//    of writing them to /dev/fuse.
// It is, with fuse_wire.h, the only code that knows the wire format.
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <unordered_map>

#include "base/mutex.h"
#include "base/thread_annotations.h"

struct fuse_session;

namespace chainfs::fuse {

// libfuse 3.14 has no handler for the kernel's TMPFILE request (open with O_TMPFILE). Its
// body is CREATE's (flags, mode, umask, then the name, which for TMPFILE is always "/", a
// name no CREATE can carry), so the transport hands it to libfuse as a CREATE and the
// create handler makes an unnamed file when the name is this one.
inline constexpr char kTmpfileName[] = "/";

// What chainfs asks for beyond libfuse 3.14. Each is granted only if the kernel offers it.
struct TransportWants {
  bool parallel_dirops = false;         // parallel lookups and readdirs in one directory
  // The filesystem clears set-user-ID and set-group-ID on write, truncate and chown itself;
  // the kernel then marks the superblock SB_NOSEC and stops asking for security.capability
  // (a GETXATTR) before every write to a file that has none.
  bool handle_killpriv_v2 = false;
  bool direct_io_allow_mmap = false;    // shared mmap on FOPEN_DIRECT_IO files
  bool parallel_direct_writes = false;  // concurrent direct writes to one file
  bool over_io_uring = false;           // FUSE-over-io_uring (needs a RingHook)
  uint32_t max_readahead = 0;           // bytes; 0 leaves libfuse's value
};

// What the INIT exchange settled.
struct InitResult {
  uint32_t major = 0, minor = 0;  // the kernel's protocol version
  uint64_t offered = 0;           // the kernel's INIT flags (flags2 in the upper half)
  uint64_t replied = 0;           // the flags sent back, after the transport's additions
  uint32_t max_readahead = 0;     // as replied
  uint32_t max_write = 0;
  uint16_t max_pages = 0;  // 0 when FUSE_MAX_PAGES was not negotiated
  bool granted(uint64_t bit) const { return (replied & bit) != 0; }
};

// The FUSE-over-io_uring side, implemented by UringTransport.
class RingHook {
 public:
  virtual ~RingHook() = default;
  // Before the INIT reply goes out: sets up the rings for this connection. true means
  // FUSE_OVER_IO_URING goes into the reply (the kernel then waits for every queue).
  virtual bool prepare(const InitResult& init) = 0;
  // After the INIT reply was written: registers the ring entries.
  virtual void start() = 0;
  // Called for every reply libfuse sends: true if it answered a ring entry's request (it
  // then went into that entry), false if it belongs on /dev/fuse.
  virtual bool take_reply(const iovec* iov, int count) = 0;
};

class Transport {
 public:
  explicit Transport(const TransportWants& wants) : wants_(wants) {}
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Installs the hooks on fd, by default the session's descriptor (after
  // fuse_session_mount()). The session's userdata must be a Context whose transport member
  // points here: libfuse hands that userdata to the hooks. Returns 0 or a negative errno.
  int attach(fuse_session* se, int fd = -1);

  // libfuse's hooks (public for the unit tests over a fake descriptor): as read(2) and
  // writev(2), -1 with errno on failure.
  ssize_t read(int fd, void* buf, size_t len);
  ssize_t writev(int fd, iovec* iov, int count);

  // A request that arrived elsewhere (the ring): seen as if read from /dev/fuse, and
  // rewritten in place where libfuse needs it (see kTmpfileName).
  void note_request(void* request, size_t len) EXCLUDES(mu_);

  void set_ring(RingHook* ring) { ring_ = ring; }
  // Runs once, after the INIT reply was written.
  void on_init(std::function<void(const InitResult&)> f) { init_cb_ = std::move(f); }

  bool init_done() const { return init_done_.load(std::memory_order_acquire); }
  InitResult init() const EXCLUDES(mu_);  // valid once init_done()
  bool ring_active() const { return ring_active_.load(std::memory_order_acquire); }

 private:
  ssize_t send_init_reply(int fd, iovec* iov, int count) EXCLUDES(mu_);
  void patch_open_reply(iovec* iov, int count) EXCLUDES(mu_);

  const TransportWants wants_;
  RingHook* ring_ = nullptr;
  std::function<void(const InitResult&)> init_cb_;

  mutable base::Mutex mu_;
  std::atomic<uint64_t> init_unique_{0};  // the INIT request waiting for its reply, 0 if none
  InitResult init_ GUARDED_BY(mu_);
  std::atomic<bool> init_done_{false};
  std::atomic<bool> ring_active_{false};
  std::atomic<bool> track_opens_{false};      // parallel direct writes granted
  std::unordered_map<uint64_t, uint32_t> opens_ GUARDED_BY(mu_);  // OPEN/CREATE unique -> opcode, until replied
  std::atomic<size_t> open_count_{0};
};

// The INIT reply rewriting on its own: adds to *flags (the reply's 64-bit flags) what
// wants asks for and offered has, and returns the bits added.
uint64_t add_init_flags(const TransportWants& wants, uint64_t offered, uint64_t* flags);

}  // namespace chainfs::fuse
