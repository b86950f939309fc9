#include "io/nbd_device.h"

#include <fmt/format.h>
#include <libnbd.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "base/log.h"
#include "base/thread_annotations.h"

namespace chainfs::io {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t ns_since(Clock::time_point t) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count());
}

void log_line(base::LogLevel level, const std::string& msg) { base::log(level, msg); }

// libnbd's errno for the last failed call of this thread, never 0.
int last_errno() {
  int e = nbd_get_errno();
  return e > 0 ? e : EIO;
}

std::string last_error() {
  const char* m = nbd_get_error();
  return m ? m : "unknown libnbd error";
}

// What the application sees for a command: the server's own error while the connection
// lives (ENOSPC, EPERM, ...), EIO for a command lost with its connection.
int command_status(int error) {
  switch (error) {
    case 0: return 0;
    case ENOTCONN:
    case ESHUTDOWN:
    case ECONNRESET:
    case EPIPE:
    case ETIMEDOUT: return -EIO;
    default: return -error;
  }
}

struct HandleCloser {
  void operator()(nbd_handle* h) const { nbd_close(h); }
};
using Handle = std::unique_ptr<nbd_handle, HandleCloser>;

// Connects a new handle to uri, every step bounded by `timeout` (a server that accepts and
// never answers cannot hang the caller); gives up early when *stop turns true (wake_fd wakes
// the wait). 0 or -errno with *error set.
int connect_bounded(const std::string& uri, std::chrono::milliseconds timeout, int wake_fd,
                    const std::atomic<bool>* stop, Handle* out, std::string* error) {
  Handle h(nbd_create());
  if (!h) {
    *error = last_error();
    return -ENOMEM;
  }
  nbd_set_request_block_size(h.get(), true);
  if (nbd_aio_connect_uri(h.get(), uri.c_str()) == -1) {
    *error = last_error();
    return -last_errno();
  }
  auto deadline = Clock::now() + timeout;
  while (nbd_aio_is_ready(h.get()) != 1) {
    if (nbd_aio_is_dead(h.get()) == 1 || nbd_aio_is_closed(h.get()) == 1) {
      *error = last_error();
      return -ECONNREFUSED;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || (stop && stop->load())) {
      *error = "no answer from the server";
      return -ETIMEDOUT;
    }
    unsigned dir = nbd_aio_get_direction(h.get());
    struct pollfd p[2] = {{nbd_aio_get_fd(h.get()), 0, 0}, {wake_fd, POLLIN, 0}};
    if (dir & LIBNBD_AIO_DIRECTION_READ) p[0].events |= POLLIN;
    if (dir & LIBNBD_AIO_DIRECTION_WRITE) p[0].events |= POLLOUT;
    int n = poll(p, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) {
      *error = std::strerror(errno);
      return -errno;
    }
    if (p[1].revents) {
      uint64_t v;
      [[maybe_unused]] ssize_t k = ::read(wake_fd, &v, sizeof v);
    }
    int r = 0;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && (dir & LIBNBD_AIO_DIRECTION_READ))
      r = nbd_aio_notify_read(h.get());
    else if ((p[0].revents & (POLLOUT | POLLHUP | POLLERR)) && (dir & LIBNBD_AIO_DIRECTION_WRITE))
      r = nbd_aio_notify_write(h.get());
    if (r == -1) {
      *error = last_error();
      return -last_errno();
    }
  }
  *out = std::move(h);
  return 0;
}

}  // namespace

bool is_nbd_uri(std::string_view name) {
  for (std::string_view s : {"nbd://", "nbds://", "nbd+unix://", "nbds+unix://", "nbd+vsock://", "nbds+vsock://"})
    if (name.substr(0, s.size()) == s) return true;
  return false;
}

// One connection: the handle (any submitter issues commands on it, under mu_) and the
// driver thread that polls its socket, feeds libnbd, finishes requests, drops the connection
// on a timeout or an error, and reconnects.
class NbdDevice::Conn {
 public:
  Conn(NbdDevice& dev, unsigned index, Handle h) : dev_(dev), index_(index), h_(std::move(h)) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ready_.store(h_ != nullptr);
  }
  ~Conn() {
    stop_.store(true);
    wake();
    if (thread_.joinable()) thread_.join();
    base::MutexLock lk(mu_);
    if (h_) disconnect();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int start() {
    if (wake_fd_ < 0) return -errno;
    thread_ = std::thread([this] { loop(); });
    return 0;
  }
  bool ready() const { return ready_.load(std::memory_order_acquire); }

  // Sends b as one command: 1 sent, 0 this connection is down (b untouched), or -errno
  // (b untouched) for a command libnbd refused.
  int issue(Bio* b, uint64_t write_gen) EXCLUDES(mu_) {
    auto req = std::make_unique<Request>();
    req->conn = this;
    req->bio = b;
    req->write_gen = write_gen;
    void* buf = nullptr;
    size_t len = b->bytes();
    if (b->op() != BioOp::kFlush) {
      if (b->iovcnt() == 1) {
        buf = b->iov()[0].iov_base;
      } else {
        req->bounce = std::make_unique<char[]>(len);
        buf = req->bounce.get();
        if (b->op() == BioOp::kWrite) gather(b, req->bounce.get());
      }
    }
    nbd_completion_callback cb{&Conn::on_reply, req.get(), nullptr};
    base::MutexLock lk(mu_);
    if (!h_ || !ready()) return 0;
    // In the table before libnbd sees it: a reply may come before the call returns.
    bool first = inflight_.empty();
    Request* r = req.release();
    r->submitted = Clock::now();
    r->seq = next_seq_++;
    inflight_.emplace(r->seq, r);
    int64_t cookie = -1;
    switch (b->op()) {
      case BioOp::kRead: cookie = nbd_aio_pread(h_.get(), buf, len, b->offset(), cb, 0); break;
      case BioOp::kWrite: cookie = nbd_aio_pwrite(h_.get(), buf, len, b->offset(), cb, 0); break;
      case BioOp::kFlush: cookie = nbd_aio_flush(h_.get(), cb, 0); break;
    }
    if (cookie == -1) {  // libnbd did not take it: no callback will come
      inflight_.erase(r->seq);
      delete r;
      int e = last_errno();
      if (nbd_aio_is_dead(h_.get()) == 1 || nbd_aio_is_closed(h_.get()) == 1) {
        wake();  // the driver notices and drops the connection
        return 0;
      }
      log_line(base::LogLevel::kError, fmt::format("nbd {}: request refused: {}", dev_.uri_, last_error()));
      return -e;
    }
    // The driver polls only for replies while the socket takes everything at once; it needs
    // a wake for output left over and to start timing a request.
    if (first || (nbd_aio_get_direction(h_.get()) & LIBNBD_AIO_DIRECTION_WRITE)) wake();
    return 1;
  }

 private:
  struct Request {
    Conn* conn = nullptr;
    Bio* bio = nullptr;
    std::unique_ptr<char[]> bounce;
    uint64_t seq = 0;
    uint64_t write_gen = 0;  // flushes: the writes completed before submission
    Clock::time_point submitted;
    int error = 0;
  };

  static void gather(Bio* b, char* dst) {
    for (int i = 0; i < b->iovcnt(); ++i) {
      std::memcpy(dst, b->iov()[i].iov_base, b->iov()[i].iov_len);
      dst += b->iov()[i].iov_len;
    }
  }
  static void scatter(Bio* b, const char* src) {
    for (int i = 0; i < b->iovcnt(); ++i) {
      std::memcpy(b->iov()[i].iov_base, src, b->iov()[i].iov_len);
      src += b->iov()[i].iov_len;
    }
  }

  // libnbd's completion callback: runs inside libnbd (under its handle lock), in the driver
  // or, rarely, in a submitter. It only queues the request; the driver finishes it.
  static int on_reply(void* user_data, int* error) {
    auto* req = static_cast<Request*>(user_data);
    Conn* c = req->conn;
    req->error = *error;
    {
      base::MutexLock lk(c->done_mu_);
      c->done_.push_back(req);
    }
    if (std::this_thread::get_id() != c->thread_.get_id()) c->wake();
    return 1;  // retire the command
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
  void drain_wake() {
    uint64_t v;
    while (::read(wake_fd_, &v, sizeof v) > 0) {
    }
  }

  // Finishes the replied requests, then (after a drop) those the connection took with it.
  void finish(std::vector<Request*>* lost) EXCLUDES(mu_, done_mu_) {
    std::vector<Request*> replied;
    {
      base::MutexLock lk(done_mu_);
      replied.swap(done_);
    }
    {
      base::MutexLock lk(mu_);
      for (Request* r : replied) inflight_.erase(r->seq);
    }
    for (Request* r : replied) {
      if (r->error == 0 && r->bounce && r->bio->op() == BioOp::kRead) scatter(r->bio, r->bounce.get());
      dev_.complete(r->bio, command_status(r->error), r->write_gen);
      delete r;
    }
    if (!lost) return;
    for (Request* r : *lost) {
      dev_.complete(r->bio, -EIO, r->write_gen);
      delete r;
    }
  }

  // Closes the handle; what it still had in flight goes to *lost.
  void drop_locked(const std::string& why, std::vector<Request*>* lost) REQUIRES(mu_) EXCLUDES(done_mu_) {
    ready_.store(false, std::memory_order_release);
    h_.reset();  // libnbd may still complete commands here: they land in done_
    std::vector<Request*> replied;
    {
      base::MutexLock lk(done_mu_);
      replied = done_;
    }
    for (Request* r : replied) inflight_.erase(r->seq);
    for (auto& [seq, r] : inflight_) lost->push_back(r);
    inflight_.clear();
    log_line(base::LogLevel::kError,
             fmt::format("nbd {}: connection {} lost ({}); {} requests in flight fail with EIO; reconnecting",
                         dev_.uri_, index_, why, lost->size()));
  }

  void disconnect() REQUIRES(mu_) {
    if (nbd_aio_is_ready(h_.get()) == 1 && nbd_aio_disconnect(h_.get(), 0) == 0) {
      auto deadline = Clock::now() + std::chrono::seconds(1);
      while (nbd_aio_is_closed(h_.get()) != 1 && nbd_aio_is_dead(h_.get()) != 1 && Clock::now() < deadline) {
        if (nbd_poll(h_.get(), 100) == -1) break;
      }
    }
    h_.reset();
  }

  void reconnect() EXCLUDES(mu_) {
    Handle h;
    std::string error;
    auto timeout = std::chrono::seconds(std::max(1u, dev_.nopts_.request_timeout_s));
    int r = connect_bounded(dev_.uri_, timeout, wake_fd_, &stop_, &h, &error);
    if (r == 0 && static_cast<uint64_t>(nbd_get_size(h.get())) != dev_.size_) {
      error = fmt::format("the export's size changed to {} bytes", nbd_get_size(h.get()));
      r = -EIO;
    }
    if (r < 0) {
      if (!reconnect_failed_)
        log_line(base::LogLevel::kError,
                 fmt::format("nbd {}: cannot reconnect: {}; retrying every second", dev_.uri_, error));
      reconnect_failed_ = true;
      return;
    }
    {
      base::MutexLock lk(mu_);
      h_ = std::move(h);
      ready_.store(true, std::memory_order_release);
    }
    reconnect_failed_ = false;
    dev_.reconnect_count_.fetch_add(1);
    log_line(base::LogLevel::kWarning, fmt::format("nbd {}: connection {} re-established", dev_.uri_, index_));
    base::MutexLock dl(dev_.mu_);
    dev_.down_since_.reset();
    dev_.ready_cv_.notify_all();
  }

  void loop() EXCLUDES(mu_, done_mu_) {
    const auto timeout = std::chrono::seconds(std::max(1u, dev_.nopts_.request_timeout_s));
    Clock::time_point last_attempt{};
    for (;;) {
      std::vector<Request*> lost;
      bool down = false;
      int fd = -1;
      unsigned dir = 0;
      bool busy = false;
      {
        base::MutexLock lk(mu_);
        if (stop_.load() && inflight_.empty()) break;
        if (h_ && (nbd_aio_is_dead(h_.get()) == 1 || nbd_aio_is_closed(h_.get()) == 1)) {
          drop_locked("the server closed it or broke the protocol", &lost);
          dev_.on_connection_lost();
        }
        down = !h_;
        if (!down) {
          fd = nbd_aio_get_fd(h_.get());
          dir = nbd_aio_get_direction(h_.get());
          busy = !inflight_.empty();
        }
      }
      finish(&lost);
      if (down) {
        if (stop_.load()) break;
        auto since = Clock::now() - last_attempt;
        if (since < std::chrono::seconds(1)) {
          struct pollfd p{wake_fd_, POLLIN, 0};
          poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::seconds(1) - since).count()));
          drain_wake();
          continue;
        }
        last_attempt = Clock::now();
        reconnect();
        continue;
      }
      struct pollfd p[2] = {{fd, 0, 0}, {wake_fd_, POLLIN, 0}};
      if (dir & LIBNBD_AIO_DIRECTION_READ) p[0].events |= POLLIN;
      if (dir & LIBNBD_AIO_DIRECTION_WRITE) p[0].events |= POLLOUT;
      // While requests are in flight, wake up now and then to time them.
      poll(p, 2, busy ? 200 : -1);
      if (p[1].revents) drain_wake();
      {
        base::MutexLock lk(mu_);
        if (h_) {
          if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && (dir & LIBNBD_AIO_DIRECTION_READ))
            nbd_aio_notify_read(h_.get());
          else if ((p[0].revents & (POLLOUT | POLLHUP | POLLERR)) && (dir & LIBNBD_AIO_DIRECTION_WRITE))
            nbd_aio_notify_write(h_.get());
        }
      }
      finish(nullptr);
      {
        base::MutexLock lk(mu_);
        if (h_ && !inflight_.empty() && Clock::now() - inflight_.begin()->second->submitted > timeout) {
          drop_locked(fmt::format("no reply within {} s", timeout.count()), &lost);
          dev_.on_connection_lost();
        }
      }
      finish(&lost);
    }
  }

  NbdDevice& dev_;
  const unsigned index_;
  base::Mutex mu_;  // the handle and inflight_; libnbd's completion callback never takes it
  Handle h_ GUARDED_BY(mu_);  // null while the connection is down
  std::map<uint64_t, Request*> inflight_ GUARDED_BY(mu_);  // oldest first
  uint64_t next_seq_ GUARDED_BY(mu_) = 0;
  base::Mutex done_mu_;  // a leaf lock
  std::vector<Request*> done_ GUARDED_BY(done_mu_);
  int wake_fd_ = -1;
  std::atomic<bool> ready_{false}, stop_{false};
  bool reconnect_failed_ = false;  // driver thread only: one log line per outage
  std::thread thread_;
};

NbdDevice::NbdDevice(std::string uri, const OpenOptions& opts, const NbdOptions& nopts)
    : uri_(std::move(uri)), opts_(opts), nopts_(nopts) {}

int NbdDevice::claim() {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: stable across builds and machines
  for (unsigned char c : uri_) h = (h ^ c) * 0x100000001b3ull;
  struct stat st {};
  std::string dir = stat("/run/lock", &st) == 0 && S_ISDIR(st.st_mode) ? "/run/lock" : "/tmp";
  lock_path_ = fmt::format("{}/chainfs-nbd-{:016x}.lock", dir, h);
  auto deadline = Clock::now() + std::chrono::milliseconds(opts_.busy_wait_ms);
  for (;;) {
    DeviceFd fd(::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return -errno;
    if (flock(fd.get(), (opts_.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) {
      // The last holder removes the file as it lets go (see the destructor): a lock taken on
      // a file no longer at the path is no claim, so open the path again.
      struct stat held {}, now {};
      if (fstat(fd.get(), &held) == 0 && stat(lock_path_.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
          held.st_dev == now.st_dev) {
        lock_ = std::move(fd);
        return 0;
      }
      continue;
    }
    if (errno != EWOULDBLOCK) return -errno;
    if (Clock::now() >= deadline) return -EBUSY;
    // flock has no timed wait: retry until the deadline (a claim, not the data path).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void NbdDevice::release_claim() {
  if (lock_.get() < 0) return;
  // Only a holder alone on the file (its lock becomes exclusive) removes it; one that shares it
  // with readers leaves it to the last of them.
  if (flock(lock_.get(), LOCK_EX | LOCK_NB) == 0) ::unlink(lock_path_.c_str());
  lock_ = DeviceFd();
}

int NbdDevice::open(const std::string& uri, const OpenOptions& opts, const NbdOptions& nopts,
                    std::unique_ptr<NbdDevice>* out, std::string* error) {
  std::unique_ptr<NbdDevice> dev(new NbdDevice(uri, opts, nopts));
  if (opts.exclusive) {
    if (int r = dev->claim(); r < 0) {
      if (error) *error = r == -EBUSY ? "in use by another chainfs on this machine" : "cannot take its lock file";
      return r;
    }
  }
  std::string why;
  auto timeout = std::chrono::seconds(std::max(1u, nopts.request_timeout_s));
  Handle h;
  if (int r = connect_bounded(uri, timeout, -1, nullptr, &h, &why); r < 0) {
    if (error) *error = why;
    return r;
  }
  int64_t size = nbd_get_size(h.get());
  if (size < 0) {
    if (error) *error = last_error();
    return -last_errno();
  }
  dev->size_ = static_cast<uint64_t>(size);
  if (nbd_is_read_only(h.get()) == 1 && !opts.read_only) {
    if (error) *error = "the export is read-only";
    return -EROFS;
  }
  int64_t minimum = nbd_get_block_size(h.get(), LIBNBD_SIZE_MINIMUM);
  int64_t preferred = nbd_get_block_size(h.get(), LIBNBD_SIZE_PREFERRED);
  int64_t maximum = nbd_get_block_size(h.get(), LIBNBD_SIZE_MAXIMUM);
  QueueLimits& l = dev->limits_;
  l.logical_block_size = static_cast<uint32_t>(std::max<int64_t>(512, minimum));
  if (l.logical_block_size > 4096) {
    if (error) *error = fmt::format("the export's minimum block size {} is larger than 4096", minimum);
    return -EINVAL;
  }
  uint64_t max_req = nopts.max_request_bytes;
  if (maximum > 0) max_req = std::min<uint64_t>(max_req, static_cast<uint64_t>(maximum));
  max_req = std::max<uint64_t>(max_req / l.logical_block_size * l.logical_block_size, l.logical_block_size);
  l.max_sectors_kb = static_cast<uint32_t>(std::max<uint64_t>(1, max_req / 1024));
  l.max_segments = 256;  // gathered into one bounce buffer: any count works
  l.max_segment_size = static_cast<uint32_t>(max_req);
  l.optimal_io_size = preferred > 0 ? static_cast<uint32_t>(preferred) : 0;
  dev->can_flush_ = nbd_can_flush(h.get()) == 1;
  dev->multi_conn_ = nbd_can_multi_conn(h.get()) == 1;

  dev->completions_ = std::make_unique<CompletionThread>(nopts.completion, [](Bio* b, int status) { b->end(status); });
  unsigned n = dev->multi_conn_ ? std::clamp(nopts.connections, 1u, 16u) : 1u;
  dev->conns_.push_back(std::make_unique<Conn>(*dev, 0, std::move(h)));
  for (unsigned i = 1; i < n; ++i) {
    // A server may admit fewer clients than it offers multi-conn for (nbdkit's limit filter,
    // qemu-nbd --shared): the connections it took are enough.
    Handle more;
    if (connect_bounded(uri, timeout, -1, nullptr, &more, &why) < 0) {
      log_line(base::LogLevel::kInfo, fmt::format("nbd {}: the server took {} connections ({})", uri, i, why));
      break;
    }
    dev->conns_.push_back(std::make_unique<Conn>(*dev, i, std::move(more)));
  }
  for (auto& c : dev->conns_)
    if (int r = c->start(); r < 0) return r;
  *out = std::move(dev);
  return 0;
}

NbdDevice::~NbdDevice() {
  if (completions_) completions_->wait_until([this] { return in_flight_.load(std::memory_order_acquire) == 0; });
  conns_.clear();
  completions_.reset();
  release_claim();
}

void NbdDevice::on_connection_lost() {
  lost_count_.fetch_add(1);
  {
    base::MutexLock lk(mu_);
    if (!down_since_ && std::none_of(conns_.begin(), conns_.end(), [](const auto& c) { return c->ready(); }))
      down_since_ = Clock::now();
  }
  base::MutexLock lk(dur_mu_);
  if (write_gen_ > durable_gen_) lost_ = true;
}

void NbdDevice::complete(Bio* b, int status, uint64_t write_gen) {
  if (b->op() == BioOp::kWrite && status == 0) {
    base::MutexLock lk(dur_mu_);
    ++write_gen_;
  } else if (b->op() == BioOp::kFlush && status == 0) {
    base::MutexLock lk(dur_mu_);
    if (lost_) {
      lost_ = false;
      status = -EIO;
      log_line(base::LogLevel::kError,
               fmt::format("nbd {}: writes completed before a lost connection may not be durable; "
                           "this flush fails with EIO",
                           uri_));
    }
    durable_gen_ = std::max(durable_gen_, write_gen);
  }
  {
    base::MutexLock lk(mu_);
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    slot_cv_.notify_one();
  }
  stats_.on_complete(ns_since(b->submitted_at), status);
  completions_->post(b, status);
}

void NbdDevice::submit_leaf(Bio* b) {
  const unsigned capacity = std::max(1u, nopts_.queue_depth);
  {
    base::MutexLock lk(mu_);
    while (in_flight_.load(std::memory_order_relaxed) >= capacity) slot_cv_.wait(mu_);
    uint32_t now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
    stats_.on_submit(b->op(), b->bytes(), static_cast<uint32_t>(b->iovcnt()), now);
  }
  b->submitted_at = Clock::now();
  b->done_bytes = 0;
  uint64_t gen = 0;
  if (b->op() == BioOp::kFlush) {
    base::MutexLock lk(dur_mu_);
    gen = write_gen_;
  }
  if (b->op() == BioOp::kFlush && !can_flush_) {
    complete(b, 0, gen);  // a server without flush writes through
    return;
  }
  auto deadline = b->submitted_at + std::chrono::seconds(std::max(1u, nopts_.request_timeout_s));
  for (;;) {
    unsigned first = next_conn_.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < conns_.size(); ++i) {
      int r = conns_[(first + i) % conns_.size()]->issue(b, gen);
      if (r == 1) return;
      if (r < 0) {
        complete(b, r, gen);
        return;
      }
    }
    // No connection is up: wait for a reconnect, as long as the request may take, and no
    // longer than one timeout since the device went down: once it has been down that long,
    // requests fail at once (a write-back of many pages must not wait a timeout per page).
    base::MutexLock lk(mu_);
    if (down_since_)
      deadline = std::min(deadline, *down_since_ + std::chrono::seconds(std::max(1u, nopts_.request_timeout_s)));
    if (Clock::now() >= deadline) {
      lk.unlock();
      complete(b, -EIO, gen);
      return;
    }
    const auto until = std::min(deadline, Clock::now() + std::chrono::milliseconds(100));
    while (std::none_of(conns_.begin(), conns_.end(), [](const auto& c) { return c->ready(); }) &&
           ready_cv_.wait_until(mu_, until)) {
    }
  }
}

void NbdDevice::submit(Bio* const* bios, size_t n) {
  submit_split(limits_, stats_, bios, n, [this](Bio* const* leaves, size_t k) {
    for (size_t i = 0; i < k; ++i) submit_leaf(leaves[i]);
  });
}

void NbdDevice::wait_until(const std::function<bool()>& done) { completions_->wait_until(done); }

int NbdDevice::readv(uint64_t offset, const struct iovec* iov, int iovcnt) {
  return sync_bio_io(*this, size_, BioOp::kRead, offset, iov, iovcnt);
}

int NbdDevice::writev(uint64_t offset, const struct iovec* iov, int iovcnt) {
  return sync_bio_io(*this, size_, BioOp::kWrite, offset, iov, iovcnt);
}

int NbdDevice::flush() { return sync_bio_io(*this, size_, BioOp::kFlush, 0, nullptr, 0); }

}  // namespace chainfs::io
