#pragma once
// BioChain: the bio_chain builder (io/README.md). It turns a stream of page-sized pieces into
// the largest requests the device accepts:
//
//   BioPool pool(dev, 32);                       // per device, shared by its chains
//   BioChain chain(pool, {}, [](Bio& b, int status) {
//     for (BioPage& p : b.pages()) { /* p.cookie: clear writeback, or keep it dirty ... */ }
//   });
//   for (each dirty page in device-offset order) chain.append(view, device_offset, page);
//   int err = chain.wait();                      // submits the tail, waits for all of them
//
// append() merges in O(1) when the piece follows the current request on the device and the
// request stays within the limits: max_sectors_kb, max_segments (a piece whose buffer
// directly follows the previous one in memory extends that segment, up to
// max_segment_size), logical block alignment, and an optional boundary (stripe, allocation
// group) that no request crosses. Otherwise it submits the current request and starts
// another; a request that becomes full is submitted at once. Callers never reason about
// limits. append() never fails: requests come from the BioPool, which waits for the oldest
// in-flight request when it is empty.
//
// The end-io callback runs once per request, in the device's completion context (see
// bio_device.h for what it may do), with the request's pages in append order; a piece cut
// by a limit appears in both requests with its two parts. Statistics (merges, splits by
// reason, backup waits) go to the device's IoStats.
//
// Threads: one chain is used by one thread at a time; many chains may share a pool.
// Segments are counted by virtual contiguity; the kernel counts physical contiguity, so
// on a block device buffers from huge pages (or single pages) keep the two in agreement.
#include <atomic>
#include <cstdint>
#include <functional>

#include "io/bio.h"
#include "io/bio_pool.h"
#include "io/page_view.h"

namespace chainfs::io {

struct ChainOptions {
  BioOp op = BioOp::kWrite;
  // 0 = none; else requests never cross a multiple of it. A multiple of the logical block size.
  uint64_t boundary = 0;
  // The "start I/O early when the device is idle" knob: 0 = off; else, when the device has
  // nothing in flight and the current request holds at least this many bytes, submit it
  // now instead of waiting for it to fill.
  uint64_t idle_start_bytes = 0;
  // false: no merging at all, one request per page (at most 4 KiB) — write_strategy=page.
  bool merge = true;
  // The chain's requests complete where they are reaped (Bio::set_inline_completion): for
  // chains whose only callback is the chain's own bookkeeping, waited for by the thread
  // that builds them (reads, metadata writes).
  bool inline_completion = false;
};

class BioChain {
 public:
  using EndIo = std::function<void(Bio& bio, int status)>;

  BioChain(BioPool& pool, ChainOptions opts = {}, EndIo end_io = {});
  // Submits the tail and waits for every request of the chain.
  ~BioChain();
  BioChain(const BioChain&) = delete;
  BioChain& operator=(const BioChain&) = delete;

  // Adds the piece at device_offset. REQUIRES: device_offset, page.data() and page.length
  // are multiples of the logical block size (else the device reports -EINVAL).
  void append(PageView page, uint64_t device_offset, void* cookie = nullptr);
  // Submits the current request, if any, without waiting.
  void submit();
  // Submits the tail and waits for all requests of this chain; returns the first error
  // since the last wait() (0 if none) and clears it. Does not flush the device's cache.
  int wait();
  int flush() { return wait(); }

  // Requests submitted so far, and those not finished yet.
  uint64_t submitted() const { return submitted_; }
  uint32_t outstanding() const { return outstanding_.load(std::memory_order_acquire); }
  // The request being built (nullptr if none); for tests.
  const Bio* current() const { return cur_; }

 private:
  void start(uint64_t offset);
  void cut(SplitReason why);
  void on_end(Bio& bio, int status);

  BioPool& pool_;
  BioDevice& dev_;
  ChainOptions opts_;
  EndIo end_io_;
  uint64_t max_req_, max_seg_, max_segs_;
  Bio* cur_ = nullptr;
  uint64_t submitted_ = 0;
  std::atomic<uint32_t> outstanding_{0};
  std::atomic<int> error_{0};
};

}  // namespace chainfs::io
