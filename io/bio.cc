#include "io/bio.h"

#include <algorithm>
#include <climits>

namespace chainfs::io {

uint64_t effective_max_request(const QueueLimits& l) {
  uint64_t lbs = l.logical_block_size ? l.logical_block_size : 512;
  uint64_t m = l.max_request_bytes() / lbs * lbs;
  return m ? m : lbs;
}

uint64_t effective_max_segment(const QueueLimits& l) {
  uint64_t lbs = l.logical_block_size ? l.logical_block_size : 512;
  uint64_t m = uint64_t{l.max_segment_size} / lbs * lbs;
  return m ? m : lbs;
}

void Bio::reset(BioOp op, uint64_t offset) {
  op_ = op;
  offset_ = offset;
  bytes_ = 0;
  segs_.clear();
  vec_ = &segs_;
  first_ = 0;
  count_ = 0;
  pages_.clear();
  callbacks_.clear();
  release_ = nullptr;
  release_ctx_ = nullptr;
  parent_ = nullptr;
  remaining_.store(1, std::memory_order_relaxed);
  error_.store(0, std::memory_order_relaxed);
  children_.clear();
  for (auto& r : split_reasons_) r = 0;
  submitted_at = {};
  done_bytes = 0;
  inline_completion_ = false;
}

void Bio::add_segment(void* base, size_t len) {
  segs_.push_back({base, len});
  bytes_ += len;
}

void Bio::recount() {
  bytes_ = 0;
  for (int i = 0; i < iovcnt(); ++i) bytes_ += iov()[i].iov_len;
}

void Bio::add_child(Bio& child) {
  child.parent_ = this;
  remaining_.fetch_add(1, std::memory_order_relaxed);
}

void Bio::end(int status) {
  if (status < 0) {
    int expected = 0;
    error_.compare_exchange_strong(expected, status, std::memory_order_acq_rel);
  }
  if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // Everything needed after the callbacks is read first: a callback may reuse the bio.
  Bio* parent = parent_;
  ReleaseFn release = release_;
  void* ctx = release_ctx_;
  int err = error_.load(std::memory_order_acquire);
  size_t n = callbacks_.size();
  for (size_t i = 0; i < n; ++i) callbacks_[i](*this, err);
  if (parent) parent->end(err);
  if (release) release(ctx, this);
}

void Bio::make_view(Bio& owner, uint32_t first, uint32_t count, uint64_t offset, uint64_t bytes) {
  reset(owner.op_, offset);
  vec_ = &owner.segs_;
  first_ = first;
  count_ = count;
  bytes_ = bytes;
}

size_t Bio::split(const QueueLimits& limits, uint64_t boundary) {
  const uint64_t lbs = limits.logical_block_size ? limits.logical_block_size : 512;
  const uint64_t max_req = effective_max_request(limits);
  const uint64_t max_seg = effective_max_segment(limits);
  const uint64_t max_segs = std::min<uint64_t>(limits.max_segments ? limits.max_segments : 1, IOV_MAX);
  for (auto& r : split_reasons_) r = 0;
  children_.clear();

  struct Cut {
    uint32_t first, count;
    uint64_t offset, bytes;
  };
  std::vector<Cut> cuts;
  uint32_t start = 0;
  uint64_t cut_bytes = 0, cut_segs = 0, pos = offset_;
  uint32_t i = 0;
  auto close = [&](SplitReason why) {
    cuts.push_back({start, i - start, pos - cut_bytes, cut_bytes});
    ++split_reasons_[static_cast<int>(why)];
    start = i;
    cut_bytes = 0;
    cut_segs = 0;
  };
  while (i < segs_.size()) {
    uint64_t len = segs_[i].iov_len;
    uint64_t room = max_req - cut_bytes;
    SplitReason why = SplitReason::kMaxSectors;
    if (boundary && boundary - pos % boundary < room) {
      room = boundary - pos % boundary;
      why = SplitReason::kBoundary;
    }
    uint64_t seg_room = (max_segs - cut_segs) * max_seg;
    if (seg_room < room) {
      room = seg_room;
      why = SplitReason::kMaxSegments;
    }
    uint64_t take = std::min(len, room);
    if (take < len) take = take / lbs * lbs;
    if (take == 0) {
      if (cut_bytes > 0) {  // nothing more fits: retry this segment in a fresh child
        close(why);
        continue;
      }
      take = std::min(len, std::max<uint64_t>(room, 1));  // misaligned caller: the device judges
    }
    if (take < len) {
      // Refine the owner's vector in place: the segment becomes [take] + [rest].
      auto* base = static_cast<char*>(segs_[i].iov_base);
      segs_[i].iov_len = take;
      segs_.insert(segs_.begin() + i + 1, {base + take, len - take});
    }
    cut_bytes += take;
    cut_segs += (take + max_seg - 1) / max_seg;
    pos += take;
    ++i;
    bool full = take < len || cut_bytes >= max_req || (boundary && pos % boundary == 0) || cut_segs >= max_segs;
    if (full && i < segs_.size()) {
      if (boundary && pos % boundary == 0) why = SplitReason::kBoundary;
      else if (cut_bytes >= max_req) why = SplitReason::kMaxSectors;
      else if (cut_segs >= max_segs) why = SplitReason::kMaxSegments;
      close(why);
    }
  }
  if (cuts.empty()) return 0;  // one piece: the bio fits as it is
  cuts.push_back({start, static_cast<uint32_t>(segs_.size()) - start, pos - cut_bytes, cut_bytes});
  for (const Cut& c : cuts) {
    auto child = std::make_unique<Bio>();
    child->make_view(*this, c.first, c.count, c.offset, c.bytes);
    add_child(*child);
    children_.push_back(std::move(child));
  }
  return children_.size();
}

}  // namespace chainfs::io
