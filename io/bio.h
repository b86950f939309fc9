#pragma once
// Bio: one block I/O request, a device offset plus a vector of segments (iovecs over page
// views), and the completion machinery of the kiobuf idea:
//
//  * callback chain: end-io callbacks run in push order, once, when the bio is finished;
//  * compound completion: a parent counts its outstanding children (add_child) and finishes
//    when the last one does, carrying the first error any of them saw;
//  * views: split() cuts a bio that exceeds the device limits into children that are views
//    (first segment, count) over the parent's own vector. A cut that falls inside a segment
//    refines the parent's vector in place (one iovec becomes two); nothing is copied.
//
// Lifetime: whoever submits a bio keeps it alive until it is finished. end() never touches
// the bio after the last callback, the parent's end() and the release hook, in that order,
// so the last of these may free or reuse it.
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "io/page_view.h"
#include "io/queue_limits.h"

namespace chainfs::io {

enum class BioOp : uint8_t { kRead, kWrite, kFlush };

// A page appended through the builder, with the caller's cookie (e.g. its page-cache entry),
// so a completion callback can walk the pages it wrote.
struct BioPage {
  PageView view;
  uint64_t device_offset = 0;
  void* cookie = nullptr;
};

// Why split() or the builder cut a request.
enum class SplitReason : uint8_t { kMaxSectors, kMaxSegments, kBoundary };

class Bio {
 public:
  // status is 0 or the first negative errno of the bio and its children.
  using EndIo = std::function<void(Bio& bio, int status)>;
  // Runs after everything else in end(); for pools that take the bio back.
  using ReleaseFn = void (*)(void* ctx, Bio* bio);

  Bio() = default;
  Bio(const Bio&) = delete;
  Bio& operator=(const Bio&) = delete;

  // Makes the bio empty and ready for a new request; keeps the vectors' capacity.
  // REQUIRES: not in flight.
  void reset(BioOp op, uint64_t offset);

  BioOp op() const { return op_; }
  uint64_t offset() const { return offset_; }
  uint64_t bytes() const { return bytes_; }

  // The segment vector this bio owns. Append through add_segment (keeps bytes() right) or
  // fill it directly and call recount().
  std::vector<struct iovec>& own_segments() { return segs_; }
  void add_segment(void* base, size_t len);
  void recount();
  // Adds n bytes to bytes() after a caller grew the last segment or pushed one directly.
  void recount_add(uint64_t n) { bytes_ += n; }
  // The segments to transfer: the own vector, or for a view the range of its owner's.
  struct iovec* iov() { return vec_->data() + first_; }
  const struct iovec* iov() const { return vec_->data() + first_; }
  int iovcnt() const { return static_cast<int>(is_view() ? count_ : segs_.size()); }
  bool is_view() const { return vec_ != &segs_; }

  // Pages recorded by the builder (empty for bios built from raw iovecs).
  std::vector<BioPage>& pages() { return pages_; }
  const std::vector<BioPage>& pages() const { return pages_; }

  void push_end_io(EndIo fn) { callbacks_.push_back(std::move(fn)); }
  void set_release(ReleaseFn fn, void* ctx) {
    release_ = fn;
    release_ctx_ = ctx;
  }

  // Compound completion: this bio finishes only after child has finished too.
  // REQUIRES: this bio has not finished.
  void add_child(Bio& child);
  Bio* parent() const { return parent_; }

  // The callbacks only record the result for a thread that waits (no filesystem locks, no
  // sleeping), and the thread that submits the bio is the one that waits for it: the device
  // may run them right where the completion is reaped instead of handing them to its
  // completion thread. UringDevice reaps them in that thread itself, on a ring lent to it
  // (own_rings.h), so a completion wakes nobody else. A child view follows its parent.
  void set_inline_completion(bool v) { inline_completion_ = v; }
  bool inline_completion() const { return inline_completion_ || (parent_ && parent_->inline_completion_); }

  // Finishes one unit of work with status (0 or -errno). A leaf is finished by its device; a
  // parent by the last of its children plus one end() from its owner (for its own reference).
  void end(int status);
  int first_error() const { return error_.load(std::memory_order_acquire); }

  // Splits a bio that exceeds limits (or crosses a multiple of boundary, 0 = none) into
  // children views owned by this bio; each child is within limits. Returns the number of
  // children (0: the bio fits as it is). Cuts are multiples of the logical block size.
  // REQUIRES: an owning (non-view) bio that has not been submitted.
  size_t split(const QueueLimits& limits, uint64_t boundary);
  std::vector<std::unique_ptr<Bio>>& children() { return children_; }
  // Reasons of the cuts made by the last split(), for statistics.
  uint32_t split_count(SplitReason r) const { return split_reasons_[static_cast<int>(r)]; }

  // Used by devices: submission time (latency) and progress across short transfers.
  std::chrono::steady_clock::time_point submitted_at{};
  uint64_t done_bytes = 0;

 private:
  void make_view(Bio& owner, uint32_t first, uint32_t count, uint64_t offset, uint64_t bytes);

  BioOp op_ = BioOp::kWrite;
  uint64_t offset_ = 0;
  uint64_t bytes_ = 0;
  std::vector<struct iovec> segs_;
  std::vector<struct iovec>* vec_ = &segs_;
  uint32_t first_ = 0;  // views only
  uint32_t count_ = 0;  // views only
  std::vector<BioPage> pages_;
  std::vector<EndIo> callbacks_;
  ReleaseFn release_ = nullptr;
  void* release_ctx_ = nullptr;
  Bio* parent_ = nullptr;
  std::atomic<int> remaining_{1};
  std::atomic<int> error_{0};
  std::vector<std::unique_ptr<Bio>> children_;
  uint32_t split_reasons_[3] = {0, 0, 0};
  bool inline_completion_ = false;
};

// Effective limits for cutting: max request and segment sizes rounded down to the logical
// block size (a loop device may report values that are not).
uint64_t effective_max_request(const QueueLimits& l);
uint64_t effective_max_segment(const QueueLimits& l);

}  // namespace chainfs::io
