#pragma once
// The FUSE wire format, as far as chainfs's transport needs it beyond libfuse 3.14: the
// INIT capability bits that 3.14 does not know, and the FUSE-over-io_uring structures
// (protocol 7.42). The kernel's own structs come from <linux/fuse.h>; Debian 12's copy
// stops at protocol 7.38, so what came later is defined here with its layout checked.
// Only fs/fuse/transport*.cc include this header: they are the code that knows the wire.
#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>

namespace chainfs::fuse::wire {

// INIT flags as one 64-bit word: fuse_init_in/out.flags, with flags2 in the upper half
// (flags2 is only valid when FUSE_INIT_EXT is set in flags, in both directions).
inline constexpr uint64_t kInitExt = FUSE_INIT_EXT;                // 1 << 30
inline constexpr uint64_t kParallelDirops = FUSE_PARALLEL_DIROPS;  // 1 << 18
inline constexpr uint64_t kHandleKillprivV2 = FUSE_HANDLE_KILLPRIV_V2;  // 1 << 28, protocol 7.33
inline constexpr uint64_t kDirectIoAllowMmap = 1ull << 36;         // protocol 7.39
inline constexpr uint64_t kOverIoUring = 1ull << 41;               // protocol 7.42
inline constexpr uint32_t kOpenParallelDirectWrites = FOPEN_PARALLEL_DIRECT_WRITES;  // 1 << 6

inline constexpr uint32_t kOpTmpfile = 51;  // FUSE_TMPFILE, protocol 7.37

// fuse_init_in grew over the protocol versions: flags2 exists from 7.36 on, and a kernel
// that sends an older request has none.
inline constexpr size_t kInitInFlags2End = offsetof(fuse_init_in, flags2) + sizeof(uint32_t);

// FUSE-over-io_uring: the commands that go into an IORING_OP_URING_CMD SQE's cmd_op.
enum UringCmd : uint32_t {
  kUringCmdRegister = 1,        // hand the kernel an entry's buffers and fetch a request
  kUringCmdCommitAndFetch = 2,  // answer the entry's request and fetch the next one
};

// In the 80-byte command area of a 128-byte SQE.
struct UringCmdReq {
  uint64_t flags;      // 0
  uint64_t commit_id;  // the request answered (ignored by REGISTER)
  uint16_t qid;        // the queue, one per possible CPU
  uint8_t padding[6];
};
static_assert(sizeof(UringCmdReq) == 24);

// The tail of an entry's header buffer.
struct UringEntInOut {
  uint64_t flags;
  uint64_t commit_id;   // kernel -> daemon: the request's unique, to quote in the commit
  uint32_t payload_sz;  // bytes used in the payload buffer, both directions
  uint32_t padding;
  uint64_t reserved;
};
static_assert(sizeof(UringEntInOut) == 32);

inline constexpr size_t kUringInOutSize = 128;  // fuse_in_header (request) / fuse_out_header (reply)
inline constexpr size_t kUringOpInSize = 128;   // the per-operation argument header

// An entry's header buffer (iov[0] of REGISTER). The request's remaining arguments (names,
// WRITE data) and all of a reply's arguments go into the payload buffer (iov[1]).
struct UringReqHeader {
  char in_out[kUringInOutSize];
  char op_in[kUringOpInSize];
  UringEntInOut ent;
};
static_assert(sizeof(UringReqHeader) == 288);
static_assert(offsetof(UringReqHeader, op_in) == 128 && offsetof(UringReqHeader, ent) == 256);
static_assert(sizeof(fuse_in_header) <= kUringInOutSize && sizeof(fuse_out_header) <= kUringInOutSize);

// The smallest payload buffer the kernel accepts is max(this, max_write, max_pages pages).
inline constexpr uint32_t kMinReadBuffer = 8192;

static_assert(sizeof(fuse_in_header) == 40 && sizeof(fuse_out_header) == 16);
static_assert(sizeof(fuse_init_out) == 64 && offsetof(fuse_init_out, flags2) == 32);
static_assert(offsetof(fuse_open_out, open_flags) == 8);

}  // namespace chainfs::fuse::wire
