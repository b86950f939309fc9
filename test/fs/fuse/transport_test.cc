// The transport over a fake /dev/fuse: a SOCK_SEQPACKET socket pair keeps message
// boundaries as the device does. The test plays the kernel on one end; a real libfuse 3.14
// session with the transport's hooks serves the other, so the INIT reply checked here is
// the one libfuse builds, as rewritten by the transport.
#include "fs/fuse/transport.h"

#include <doctest/doctest.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "fs/fuse/context.h"

using namespace chainfs::fuse;

namespace {

constexpr uint64_t kAllowMmap = 1ull << 36;
constexpr uint64_t kOverIoUring = 1ull << 41;
constexpr uint64_t kInitUnique = 2;

struct FakeRing : RingHook {
  bool accept = true;
  int prepared = 0, started = 0;
  uint64_t claim_unique = 0;  // a reply with this unique goes "into the ring"
  std::vector<uint64_t> taken;
  InitResult seen;
  bool prepare(const InitResult& r) override {
    ++prepared;
    seen = r;
    return accept;
  }
  void start() override { ++started; }
  bool take_reply(const iovec* iov, int /*count*/) override {
    auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
    if (out->unique != claim_unique) return false;
    taken.push_back(out->unique);
    return true;
  }
};

// What the open handler sets, per test.
bool g_direct_io = false;

void t_open(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* fi) {
  fi->direct_io = g_direct_io ? 1 : 0;
  fi->fh = 7;
  fuse_reply_open(req, fi);
}
std::string g_create_name;  // the name the create handler got last

// A CREATE (or TMPFILE) request's body: fuse_create_in, then the name with its NUL.
std::string create_body(uint32_t flags, uint32_t mode, const std::string& name) {
  fuse_create_in c;
  std::memset(&c, 0, sizeof c);
  c.flags = flags;
  c.mode = mode;
  std::string body(reinterpret_cast<const char*>(&c), sizeof c);
  body += name;
  body += '\0';
  return body;
}

void t_create(fuse_req_t req, fuse_ino_t /*parent*/, const char* name, mode_t /*mode*/, fuse_file_info* fi) {
  g_create_name = name;
  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  e.ino = 5;
  e.attr.st_ino = 5;
  e.attr.st_mode = S_IFREG | 0644;
  fi->direct_io = g_direct_io ? 1 : 0;
  fuse_reply_create(req, &e, fi);
}
void t_getattr(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) { fuse_reply_err(req, ENOENT); }

// A libfuse session whose descriptor is one end of a socket pair.
class FakeKernel {
 public:
  explicit FakeKernel(const TransportWants& w, RingHook* ring = nullptr) : transport_(w) {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    kfd_ = sv[0];
    transport_.set_ring(ring);
    ctx_.transport = &transport_;
    fuse_lowlevel_ops ops;
    std::memset(&ops, 0, sizeof ops);
    ops.open = t_open;
    ops.create = t_create;
    ops.getattr = t_getattr;
    char arg0[] = "transport_test";
    char* argv[] = {arg0, nullptr};
    fuse_args args = FUSE_ARGS_INIT(1, argv);
    se_ = fuse_session_new(&args, &ops, sizeof ops, &ctx_);
    fuse_opt_free_args(&args);  // the session keeps its own copy
    REQUIRE(se_ != nullptr);
    REQUIRE(transport_.attach(se_, sv[1]) == 0);  // the session owns sv[1] from here
  }
  ~FakeKernel() {
    fuse_session_destroy(se_);
    close(kfd_);
  }

  Transport& transport() { return transport_; }

  // Sends one request (header + argument bytes) and lets the session serve it.
  void request(uint32_t opcode, uint64_t unique, const void* arg, size_t len) {
    std::string msg(sizeof(fuse_in_header) + len, '\0');
    fuse_in_header h;
    std::memset(&h, 0, sizeof h);
    h.len = static_cast<uint32_t>(msg.size());
    h.opcode = opcode;
    h.unique = unique;
    h.nodeid = 1;
    std::memcpy(msg.data(), &h, sizeof h);
    if (len) std::memcpy(msg.data() + sizeof h, arg, len);
    REQUIRE(write(kfd_, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size()));
    fuse_buf buf;
    std::memset(&buf, 0, sizeof buf);
    REQUIRE(fuse_session_receive_buf(se_, &buf) > 0);
    fuse_session_process_buf(se_, &buf);
    free(buf.mem);
  }

  // The next reply on the kernel's end ("" if none is waiting).
  std::string reply() {
    std::string buf(1 << 16, '\0');
    ssize_t n = recv(kfd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return "";
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

  // INIT as a 6.18 kernel sends it, with the given 64-bit flags.
  fuse_init_out init(uint64_t flags, uint32_t minor = 42, size_t arg_len = sizeof(fuse_init_in)) {
    fuse_init_in in;
    std::memset(&in, 0, sizeof in);
    in.major = 7;
    in.minor = minor;
    in.max_readahead = 128 * 1024;
    in.flags = static_cast<uint32_t>(flags);
    in.flags2 = static_cast<uint32_t>(flags >> 32);
    request(FUSE_INIT, kInitUnique, &in, arg_len);
    std::string r = reply();
    REQUIRE(r.size() == sizeof(fuse_out_header) + sizeof(fuse_init_out));
    fuse_out_header out;
    std::memcpy(&out, r.data(), sizeof out);
    CHECK(out.unique == kInitUnique);
    CHECK(out.error == 0);
    CHECK(out.len == r.size());
    fuse_init_out io;
    std::memcpy(&io, r.data() + sizeof out, sizeof io);
    return io;
  }

 private:
  Transport transport_;
  Context ctx_;
  fuse_session* se_ = nullptr;
  int kfd_ = -1;
};

uint64_t flags64(const fuse_init_out& o) {
  uint64_t f = o.flags;
  if (o.flags & FUSE_INIT_EXT) f |= static_cast<uint64_t>(o.flags2) << 32;
  return f;
}

// What a 6.18 kernel offers (enable_uring=Y): the classic bits plus the flags2 ones.
constexpr uint64_t kModernKernel = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
                                   FUSE_HANDLE_KILLPRIV_V2 | FUSE_INIT_EXT | kAllowMmap | kOverIoUring;

TransportWants all_wants() {
  TransportWants w;
  w.parallel_dirops = true;
  w.handle_killpriv_v2 = true;
  w.direct_io_allow_mmap = true;
  w.parallel_direct_writes = true;
  w.over_io_uring = true;
  w.max_readahead = 1u << 20;
  return w;
}

}  // namespace

TEST_CASE("without wants the INIT reply is libfuse 3.14's own, which lacks PARALLEL_DIROPS") {
  FakeKernel k(TransportWants{});
  fuse_init_out o = k.init(kModernKernel);
  uint64_t f = flags64(o);
  CHECK((f & FUSE_INIT_EXT) != 0);  // 3.14 mirrors the extended INIT
  CHECK((f & FUSE_ASYNC_READ) != 0);
  CHECK((f & FUSE_PARALLEL_DIROPS) == 0);  // wanted by 3.14's defaults, never sent
  CHECK((f & FUSE_HANDLE_KILLPRIV_V2) == 0);
  CHECK((f & kAllowMmap) == 0);
  CHECK((f & kOverIoUring) == 0);
  CHECK(o.max_readahead == 128 * 1024);
  REQUIRE(k.transport().init_done());
  CHECK(k.transport().init().offered == kModernKernel);
  CHECK(k.transport().init().replied == f);
}

TEST_CASE("offered capabilities are added to the INIT reply when wanted") {
  FakeRing ring;
  FakeKernel k(all_wants(), &ring);
  fuse_init_out o = k.init(kModernKernel);
  uint64_t f = flags64(o);
  CHECK((f & FUSE_PARALLEL_DIROPS) != 0);
  CHECK((f & FUSE_HANDLE_KILLPRIV_V2) != 0);
  CHECK((f & kAllowMmap) != 0);
  CHECK((o.flags2 & 0x200) != 0);  // FUSE_OVER_IO_URING is flags2 bit 9
  CHECK((o.flags2 & 0x10) != 0);   // DIRECT_IO_ALLOW_MMAP is flags2 bit 4
  CHECK((f & FUSE_ASYNC_READ) != 0);  // libfuse's own bits stay
  CHECK(o.max_readahead == 1u << 20);
  CHECK(ring.prepared == 1);
  CHECK(ring.started == 1);
  CHECK(ring.seen.max_write == o.max_write);
  CHECK(ring.seen.max_pages == o.max_pages);
  CHECK(k.transport().ring_active());
  InitResult r = k.transport().init();
  CHECK(r.granted(kOverIoUring));
  CHECK(r.granted(FUSE_PARALLEL_DIROPS));
  CHECK(r.max_readahead == 1u << 20);
}

TEST_CASE("the ring leaves FUSE_ASYNC_DIO as libfuse replied it") {
  // Replies to ring requests may come from any thread, so the asynchronous direct I/O that
  // answers after an invalidation works on the ring as on /dev/fuse.
  for (bool ring_on : {true, false}) {
    CAPTURE(ring_on);
    FakeRing ring;
    TransportWants w = all_wants();
    w.over_io_uring = ring_on;
    FakeKernel k(w, &ring);
    fuse_init_out o = k.init(kModernKernel | FUSE_ASYNC_DIO);
    uint64_t f = flags64(o);
    CHECK(((f & kOverIoUring) != 0) == ring_on);
    CHECK((f & FUSE_ASYNC_DIO) != 0);
    CHECK(k.transport().ring_active() == ring_on);
  }
}

TEST_CASE("nothing the kernel did not offer is added") {
  FakeRing ring;
  FakeKernel k(all_wants(), &ring);
  // An extended INIT without the newer bits (enable_uring=N, an older kernel).
  fuse_init_out o = k.init(FUSE_ASYNC_READ | FUSE_MAX_PAGES | FUSE_INIT_EXT);
  uint64_t f = flags64(o);
  CHECK((f & FUSE_PARALLEL_DIROPS) == 0);
  CHECK((f & FUSE_HANDLE_KILLPRIV_V2) == 0);
  CHECK((f & kAllowMmap) == 0);
  CHECK((f & kOverIoUring) == 0);
  CHECK(ring.prepared == 0);
  CHECK(ring.started == 0);
  CHECK_FALSE(k.transport().ring_active());
}

TEST_CASE("flags2 bits need an extended INIT") {
  FakeRing ring;
  FakeKernel k(all_wants(), &ring);
  // flags2 carries the bits, but without FUSE_INIT_EXT it is not valid.
  fuse_init_out o = k.init(FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | kAllowMmap | kOverIoUring);
  CHECK((o.flags & FUSE_INIT_EXT) == 0);
  CHECK(o.flags2 == 0);
  CHECK((o.flags & FUSE_PARALLEL_DIROPS) != 0);  // a classic bit: no extension needed
  CHECK(ring.prepared == 0);
}

TEST_CASE("a short INIT request without flags2 gets no flags2 bits") {
  FakeKernel k(all_wants());
  fuse_init_out o = k.init(kModernKernel, 35, offsetof(fuse_init_in, flags2));
  CHECK((flags64(o) & (kAllowMmap | kOverIoUring)) == 0);
}

TEST_CASE("a ring that cannot be set up leaves FUSE_OVER_IO_URING out of the reply") {
  FakeRing ring;
  ring.accept = false;
  FakeKernel k(all_wants(), &ring);
  fuse_init_out o = k.init(kModernKernel);
  CHECK((o.flags2 & 0x200) == 0);
  CHECK((o.flags2 & 0x10) != 0);  // the other additions stay
  CHECK(ring.prepared == 1);
  CHECK(ring.started == 0);
  CHECK_FALSE(k.transport().ring_active());
}

TEST_CASE("direct I/O OPEN and CREATE replies get FOPEN_PARALLEL_DIRECT_WRITES when wanted") {
  for (bool want : {false, true}) {
    for (bool direct : {false, true}) {
      CAPTURE(want);
      CAPTURE(direct);
      TransportWants w = all_wants();
      w.parallel_direct_writes = want;
      FakeKernel k(w);
      k.init(kModernKernel);
      g_direct_io = direct;

      fuse_open_in oi;
      std::memset(&oi, 0, sizeof oi);
      oi.flags = O_RDWR;
      k.request(FUSE_OPEN, 10, &oi, sizeof oi);
      std::string r = k.reply();
      REQUIRE(r.size() == sizeof(fuse_out_header) + sizeof(fuse_open_out));
      fuse_open_out oo;
      std::memcpy(&oo, r.data() + sizeof(fuse_out_header), sizeof oo);
      CHECK(oo.fh == 7);
      CHECK(((oo.open_flags & FOPEN_DIRECT_IO) != 0) == direct);
      CHECK(((oo.open_flags & FOPEN_PARALLEL_DIRECT_WRITES) != 0) == (want && direct));

      std::string ci = create_body(O_RDWR | O_CREAT, S_IFREG | 0644, "f");
      k.request(FUSE_CREATE, 11, ci.data(), ci.size());
      r = k.reply();
      REQUIRE(r.size() == sizeof(fuse_out_header) + sizeof(fuse_entry_out) + sizeof(fuse_open_out));
      std::memcpy(&oo, r.data() + sizeof(fuse_out_header) + sizeof(fuse_entry_out), sizeof oo);
      CHECK(((oo.open_flags & FOPEN_PARALLEL_DIRECT_WRITES) != 0) == (want && direct));
      fuse_entry_out eo;
      std::memcpy(&eo, r.data() + sizeof(fuse_out_header), sizeof eo);
      CHECK(eo.nodeid == 5);  // the entry part is untouched
    }
  }
  g_direct_io = false;
}

TEST_CASE("a TMPFILE request reaches the create handler with the name kTmpfileName") {
  FakeKernel k(all_wants());
  k.init(kModernKernel);
  std::string ci = create_body(O_RDWR | O_TMPFILE, S_IFREG | 0600, "/");  // as the kernel sends it
  g_create_name.clear();
  k.request(FUSE_TMPFILE, 12, ci.data(), ci.size());
  std::string r = k.reply();
  CHECK(g_create_name == kTmpfileName);
  // The reply is CREATE's, as the kernel expects for TMPFILE.
  REQUIRE(r.size() == sizeof(fuse_out_header) + sizeof(fuse_entry_out) + sizeof(fuse_open_out));
  fuse_out_header out;
  std::memcpy(&out, r.data(), sizeof out);
  CHECK(out.unique == 12);
  CHECK(out.error == 0);
}

TEST_CASE("replies the ring claims do not reach /dev/fuse; the others do") {
  FakeRing ring;
  FakeKernel k(all_wants(), &ring);
  k.init(kModernKernel);
  ring.claim_unique = 20;
  k.request(FUSE_GETATTR, 20, nullptr, 0);
  CHECK(k.reply().empty());
  REQUIRE(ring.taken.size() == 1);
  CHECK(ring.taken[0] == 20);
  k.request(FUSE_GETATTR, 21, nullptr, 0);
  std::string r = k.reply();
  REQUIRE(r.size() == sizeof(fuse_out_header));
  fuse_out_header out;
  std::memcpy(&out, r.data(), sizeof out);
  CHECK(out.unique == 21);
  CHECK(out.error == -ENOENT);
}

TEST_CASE("add_init_flags adds only what is both wanted and offered") {
  TransportWants w;
  w.parallel_dirops = true;
  w.direct_io_allow_mmap = true;
  uint64_t flags = FUSE_ASYNC_READ;
  uint64_t added = add_init_flags(w, FUSE_PARALLEL_DIROPS | FUSE_INIT_EXT | kAllowMmap | kOverIoUring, &flags);
  CHECK(added == (FUSE_PARALLEL_DIROPS | kAllowMmap));
  CHECK(flags == (FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | kAllowMmap | FUSE_INIT_EXT));
  flags = 0;
  CHECK(add_init_flags(w, kAllowMmap, &flags) == 0);  // no FUSE_INIT_EXT offered
  CHECK(flags == 0);
}
