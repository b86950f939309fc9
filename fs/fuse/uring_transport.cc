#include "fs/fuse/uring_transport.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fuse_lowlevel.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fs/fuse/fuse_wire.h"

namespace chainfs::fuse {

namespace {

// An entry's memory: the 288-byte ring header at the start of the first page, the payload
// from the second page on. The end of the first page is where the request is rebuilt in
// /dev/fuse format (in-header and operation header), right in front of the payload.
constexpr size_t kPrefix = 4096;
constexpr size_t kMaxRebuiltHeader = sizeof(fuse_in_header) + wire::kUringOpInSize;
static_assert(sizeof(wire::UringReqHeader) + kMaxRebuiltHeader <= kPrefix);

constexpr uint64_t kWakeTag = 0;  // user_data of the poll on a ring's eventfd

size_t iov_total(const iovec* iov, int count) {
  size_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  return n;
}

}  // namespace

// Where an entry's request is, from the ring thread's point of view.
enum class EntryState {
  kKernel,    // registered: the kernel fills it with the first request
  kServing,   // a request is in it and its handler runs on the ring thread
  kDeferred,  // the handler returned without a reply: another thread will reply
  kReplied,   // the reply is in it, to commit; then until the next request
};

struct UringTransport::Ring {
  unsigned qid = 0;
  io_uring ring{};
  bool ring_ok = false;
  int efd = -1;  // wakes the thread: replies in ready, or stop()
  std::vector<Entry> entries;
  base::Mutex mu;
  std::vector<Entry*> ready GUARDED_BY(mu);  // replied to by other threads, to commit
  ~Ring();
};

struct UringTransport::Entry {
  Ring* ring = nullptr;
  char* mem = nullptr;
  size_t mem_size = 0;
  wire::UringReqHeader* hdr = nullptr;
  char* payload = nullptr;
  iovec iov[2] = {};
  uint64_t unique = 0;     // the request being served
  uint64_t commit_id = 0;  // the kernel's name for it, in the command that answers it
  bool registered = false;  // has carried a request: the kernel accepted it
  EntryState state GUARDED_BY(ring->mu) = EntryState::kKernel;
};

UringTransport::Ring::~Ring() {
  if (ring_ok) io_uring_queue_exit(&ring);
  if (efd >= 0) close(efd);
  for (Entry& e : entries)
    if (e.mem) munmap(e.mem, e.mem_size);
}

namespace {

using Entry = UringTransport::Entry;

// A free SQE; with a full submission queue (not expected: one entry per ring), submits first.
io_uring_sqe* get_sqe(io_uring* ring) {
  io_uring_sqe* sqe;
  while ((sqe = io_uring_get_sqe(ring)) == nullptr) io_uring_submit(ring);
  return sqe;
}

// The ring is set up with IORING_SETUP_SQE128: each SQE is two io_uring_sqe structs long,
// the command in the second half. GCC sees only the 64-byte struct, hence the pragma.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#if !defined(__clang__)  // a warning clang does not have
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
void prep_cmd(io_uring* ring, int fd, uint32_t cmd, unsigned qid, Entry* e, uint64_t commit_id) {
  io_uring_sqe* sqe = get_sqe(ring);
  std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = cmd;
  if (cmd == wire::kUringCmdRegister) {
    sqe->addr = reinterpret_cast<uintptr_t>(e->iov);
    sqe->len = 2;
  }
  wire::UringCmdReq req{};
  req.commit_id = commit_id;
  req.qid = static_cast<uint16_t>(qid);
  std::memcpy(sqe->cmd, &req, sizeof req);
  io_uring_sqe_set_data(sqe, e);
}
#pragma GCC diagnostic pop

// A reply with only an error, written into the entry.
void error_reply(Entry* e, int err) {
  fuse_out_header out{};
  out.len = sizeof out;
  out.error = -err;
  out.unique = e->unique;
  std::memcpy(e->hdr->in_out, &out, sizeof out);
  e->hdr->ent.payload_sz = 0;
}

// Copies a reply into the entry: the out-header into the ring header, every argument into
// the payload buffer.
void fill_reply(Entry* e, const iovec* iov, int count, size_t payload_size) {
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (iov_total(iov, count) - sizeof out > payload_size) {  // cannot happen within max_write / max_read
    error_reply(e, EIO);
    return;
  }
  std::memcpy(e->hdr->in_out, &out, sizeof out);
  size_t off = 0;
  for (int i = 0; i < count; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    size_t n = iov[i].iov_len;
    if (i == 0) {
      p += sizeof out;
      n -= sizeof out;
    }
    std::memcpy(e->payload + off, p, n);
    off += n;
  }
  e->hdr->ent.payload_sz = static_cast<uint32_t>(off);
}

void wake(int efd) {
  uint64_t one = 1;
  ssize_t n = write(efd, &one, sizeof one);
  (void)n;  // a full counter (never) still wakes the poll
}

}  // namespace

UringTransport::UringTransport(fuse_session* se, Transport* transport, int fuse_fd, Config cfg)
    : se_(se), transport_(transport), fd_(fuse_fd), cfg_(std::move(cfg)) {}

UringTransport::~UringTransport() { stop(); }

bool UringTransport::kernel_enabled() {
  std::ifstream f("/sys/module/fuse/parameters/enable_uring");
  char c = 0;
  return f.get(c) && (c == 'Y' || c == 'y' || c == '1');
}

unsigned UringTransport::possible_cpus() {
  std::ifstream f("/sys/devices/system/cpu/possible");
  std::string line;
  unsigned top = 0;
  bool any = false;
  if (std::getline(f, line)) {
    std::stringstream ss(line);
    std::string range;
    while (std::getline(ss, range, ',')) {
      size_t dash = range.find('-');
      unsigned last = static_cast<unsigned>(std::stoul(dash == std::string::npos ? range : range.substr(dash + 1)));
      top = std::max(top, last);
      any = true;
    }
  }
  if (!any) return static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_CONF)));
  return top + 1;
}

bool UringTransport::prepare(const InitResult& init) {
  try {
    nr_queues_ = possible_cpus();
  } catch (...) {
    return false;
  }
  payload_size_ = std::max<size_t>({wire::kMinReadBuffer, init.max_write, size_t{init.max_pages} * 4096});
  unsigned per_queue = std::max(1u, cfg_.threads_per_queue);
  for (unsigned q = 0; q < nr_queues_; ++q)
    for (unsigned t = 0; t < per_queue; ++t) {
      auto r = std::make_unique<Ring>();
      r->qid = q;
      rings_.push_back(std::move(r));
    }
  for (auto& r : rings_) threads_.emplace_back([this, p = r.get()] { run(p); });
  base::MutexLock l(mu_);
  while (ready_ + failed_ != rings_.size()) cv_.wait(mu_);
  if (failed_ == 0) return true;
  stopping_ = true;
  cv_.notify_all();
  l.unlock();
  for (auto& t : threads_) t.join();
  threads_.clear();
  rings_.clear();
  return false;
}

void UringTransport::start() {
  base::MutexLock g(mu_);
  go_ = true;
  cv_.notify_all();
}

void UringTransport::stop() {
  {
    base::MutexLock g(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  rings_stopping_.store(true, std::memory_order_release);
  for (auto& r : rings_)
    if (r->efd >= 0) wake(r->efd);
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    base::MutexLock g(pending_mu_);
    closed_ = true;
    pending_.clear();
  }
  // A reply that found its entry before closed_ holds the entry's ring lock until it is
  // copied in: wait for it before the memory goes.
  for (auto& r : rings_) base::MutexLock l(r->mu);
  rings_.clear();
}

void UringTransport::fatal(const std::string& what) {
  if (fatal_.exchange(true)) return;
  spdlog::error("transport=uring: {}; aborting the FUSE connection", what);
  if (!cfg_.abort_path.empty()) {
    int fd = open(cfg_.abort_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = write(fd, "1", 1);
      (void)n;
      close(fd);
    }
  }
  fuse_session_exit(se_);
}

bool UringTransport::take_reply(const iovec* iov, int count) {
  if (count < 1 || iov[0].iov_len < sizeof(fuse_out_header)) return false;
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  base::MutexLock g(pending_mu_);
  if (closed_) return false;
  auto it = pending_.find(out.unique);
  if (it == pending_.end()) return false;
  Entry* e = it->second;
  pending_.erase(it);
  // Taken before pending_mu_ is let go, so that stop() cannot free the entry under us.
  base::MutexLock l(e->ring->mu);
  g.unlock();
  fill_reply(e, iov, count, payload_size_);
  if (e->state == EntryState::kDeferred) {  // the ring thread has moved on: wake it to commit
    e->ring->ready.push_back(e);
    wake(e->ring->efd);
  }
  e->state = EntryState::kReplied;
  return true;
}

UringTransport::Served UringTransport::serve(Entry* e) {
  fuse_in_header h;
  std::memcpy(&h, e->hdr->in_out, sizeof h);
  uint32_t psz = e->hdr->ent.payload_sz;
  size_t opsize = h.len >= sizeof h + psz ? h.len - sizeof h - psz : SIZE_MAX;
  if (opsize > wire::kUringOpInSize || psz > payload_size_ || h.len < sizeof h) {
    // Not the ABI this code was written for: answering would only loop on garbage.
    fatal(fmt::format("malformed ring request (opcode {}, len {}, payload {})", h.opcode, h.len, psz));
    return Served::kBroken;
  }
  e->unique = h.unique;
  e->commit_id = e->hdr->ent.commit_id;
  // Rebuild the /dev/fuse request in front of the payload: header, operation header.
  char* start = e->payload - sizeof h - opsize;
  std::memcpy(start, &h, sizeof h);
  std::memcpy(start + sizeof h, e->hdr->op_in, opsize);
  transport_->note_request(start, h.len);
  {
    base::MutexLock l(e->ring->mu);
    e->state = EntryState::kServing;
  }
  try {
    base::MutexLock g(pending_mu_);
    pending_[h.unique] = e;
  } catch (const std::bad_alloc&) {
    base::MutexLock l(e->ring->mu);
    error_reply(e, ENOMEM);
    e->state = EntryState::kReplied;
    return Served::kReplied;
  }
  fuse_buf b;
  std::memset(&b, 0, sizeof b);
  b.size = h.len;
  b.mem = start;
  fuse_session_process_buf(se_, &b);
  base::MutexLock l(e->ring->mu);
  if (e->state == EntryState::kReplied) return Served::kReplied;
  e->state = EntryState::kDeferred;
  return Served::kLater;
}

void UringTransport::run(Ring* r) {
  bool ok = true;
  std::string why;
  io_uring_params p{};
  p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SUBMIT_ALL;
  // One entry per ring (see Config), plus the eventfd poll.
  constexpr unsigned kEntries = 1;
  if (int e = io_uring_queue_init_params(4, &r->ring, &p); e < 0) {
    ok = false;
    why = std::string("io_uring_queue_init: ") + std::strerror(-e);
  } else {
    r->ring_ok = true;
  }
  if (ok && (r->efd = eventfd(0, EFD_CLOEXEC)) < 0) {
    ok = false;
    why = std::string("eventfd: ") + std::strerror(errno);
  }
  for (unsigned i = 0; ok && i < kEntries; ++i) {
    Entry& e = r->entries.emplace_back();
    e.ring = r;
    e.mem_size = kPrefix + payload_size_;
    void* m = mmap(nullptr, e.mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) {
      e.mem = nullptr;
      ok = false;
      why = std::string("cannot map ring buffers: ") + std::strerror(errno);
      break;
    }
    e.mem = static_cast<char*>(m);
    e.hdr = reinterpret_cast<wire::UringReqHeader*>(e.mem);
    e.payload = e.mem + kPrefix;
    e.iov[0] = {e.hdr, sizeof(wire::UringReqHeader)};
    e.iov[1] = {e.payload, payload_size_};
  }
  // The kernel routes a CPU's requests to its queue: serve them on that CPU if it is online.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(r->qid, &set);
  sched_setaffinity(0, sizeof set, &set);  // a possible but offline CPU: run anywhere
  {
    base::MutexLock l(mu_);
    if (ok) {
      ++ready_;
    } else {
      ++failed_;
      spdlog::warn("transport=uring: {}", why);
    }
    cv_.notify_all();
    while (!go_ && !stopping_) cv_.wait(mu_);
    if (!ok || stopping_) return;
  }

  io_uring* ring = &r->ring;
  auto arm_wake = [&] {
    io_uring_sqe* sqe = get_sqe(ring);
    io_uring_prep_poll_add(sqe, r->efd, POLLIN);
    io_uring_sqe_set_data64(sqe, kWakeTag);
  };
  arm_wake();
  for (Entry& e : r->entries) prep_cmd(ring, fd_, wire::kUringCmdRegister, r->qid, &e, 0);

  size_t live = r->entries.size();
  while (live > 0) {
    int rc = io_uring_submit_and_wait(ring, 1);
    if (rc == -EINTR) continue;
    if (rc < 0) {
      fatal(std::string("io_uring_submit: ") + std::strerror(-rc));
      break;
    }
    io_uring_cqe* cqe;
    while (io_uring_peek_cqe(ring, &cqe) == 0) {
      uint64_t tag = cqe->user_data;
      int res = cqe->res;
      io_uring_cqe_seen(ring, cqe);
      if (tag == kWakeTag) {
        uint64_t n;
        ssize_t got = read(r->efd, &n, sizeof n);  // resets the counter; the poll said it is set
        (void)got;
        if (rings_stopping_.load(std::memory_order_acquire)) return;
        std::vector<Entry*> ready;
        {
          base::MutexLock l(r->mu);
          ready.swap(r->ready);
        }
        for (Entry* e : ready) prep_cmd(ring, fd_, wire::kUringCmdCommitAndFetch, r->qid, e, e->commit_id);
        arm_wake();
        continue;
      }
      Entry* e = reinterpret_cast<Entry*>(tag);
      if (res == -EAGAIN && !e->registered) {  // the kernel has not processed INIT yet
        usleep(1000);
        prep_cmd(ring, fd_, wire::kUringCmdRegister, r->qid, e, 0);
        continue;
      }
      if (res < 0) {
        --live;
        // -ENOTCONN: unmounted or aborted. Anything else before the first request means
        // the kernel refused the entry, and would hold every request forever.
        if (res != -ENOTCONN && res != -ECONNABORTED && !e->registered)
          fatal(std::string("registering a ring entry failed: ") + std::strerror(-res));
        continue;
      }
      e->registered = true;
      requests_.fetch_add(1, std::memory_order_relaxed);
      switch (serve(e)) {
        case Served::kReplied:
          prep_cmd(ring, fd_, wire::kUringCmdCommitAndFetch, r->qid, e, e->commit_id);
          break;
        case Served::kLater:  // take_reply() queues it on r->ready and wakes this thread
          break;
        case Served::kBroken:
          --live;
          break;
      }
    }
  }
}

}  // namespace chainfs::fuse
