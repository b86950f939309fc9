#include "io/bio_chain.h"

#include <algorithm>
#include <climits>

namespace chainfs::io {

namespace {
constexpr uint64_t kPageBytes = 4096;
}  // namespace

BioChain::BioChain(BioPool& pool, ChainOptions opts, EndIo end_io)
    : pool_(pool), dev_(pool.device()), opts_(opts), end_io_(std::move(end_io)) {
  const QueueLimits& l = dev_.limits();
  max_req_ = effective_max_request(l);
  max_seg_ = effective_max_segment(l);
  max_segs_ = std::clamp<uint64_t>(l.max_segments, 1, IOV_MAX);
}

BioChain::~BioChain() { wait(); }

void BioChain::start(uint64_t offset) {
  cur_ = pool_.get(opts_.op, offset);
  cur_->set_inline_completion(opts_.inline_completion && !end_io_);
  cur_->push_end_io([this](Bio& b, int status) { on_end(b, status); });
}

void BioChain::on_end(Bio& bio, int status) {
  if (end_io_) end_io_(bio, status);
  if (status < 0) {
    int expected = 0;
    error_.compare_exchange_strong(expected, status, std::memory_order_acq_rel);
  }
  // Last touch of the chain: once the count drops, wait() may return and the chain go away.
  outstanding_.fetch_sub(1, std::memory_order_acq_rel);
}

void BioChain::submit() {
  if (!cur_) return;
  Bio* b = cur_;
  cur_ = nullptr;
  ++submitted_;
  outstanding_.fetch_add(1, std::memory_order_acq_rel);
  pool_.mark_in_flight(b);
  dev_.submit(*b);
}

void BioChain::cut(SplitReason why) {
  dev_.stats().on_split(why);
  submit();
}

void BioChain::append(PageView page, uint64_t off, void* cookie) {
  while (page.length > 0) {
    if (cur_ && off != cur_->offset() + cur_->bytes()) submit();  // not a follower: no split
    if (!cur_) start(off);

    uint64_t room = max_req_ - cur_->bytes();
    SplitReason why = SplitReason::kMaxSectors;
    if (opts_.boundary && opts_.boundary - off % opts_.boundary < room) {
      room = opts_.boundary - off % opts_.boundary;
      why = SplitReason::kBoundary;
    }
    auto& segs = cur_->own_segments();
    char* data = page.data();
    if (!opts_.merge) room = std::min<uint64_t>(room, kPageBytes);
    uint64_t take = std::min<uint64_t>(page.length, room);
    bool extends = !segs.empty() && static_cast<char*>(segs.back().iov_base) + segs.back().iov_len == data &&
                   segs.back().iov_len + take <= max_seg_;
    if (extends) {
      segs.back().iov_len += take;
    } else if (segs.size() >= max_segs_) {
      cut(SplitReason::kMaxSegments);
      continue;
    } else {
      take = std::min(take, max_seg_);
      segs.push_back({data, take});
    }
    if (cur_->bytes() > 0) dev_.stats().on_merge();
    cur_->recount_add(take);
    cur_->pages().push_back({{page.buffer, page.offset, static_cast<uint32_t>(take)}, off, cookie});
    page.offset += static_cast<uint32_t>(take);
    page.length -= static_cast<uint32_t>(take);
    off += take;

    if (!opts_.merge) {
      submit();  // one request per page: not a split
    } else if (take == room) {
      cut(why);  // full, or at a boundary: nothing more can follow
    } else if (segs.size() == max_segs_ && segs.back().iov_len == max_seg_) {
      cut(SplitReason::kMaxSegments);
    }
  }
  if (opts_.idle_start_bytes && cur_ && cur_->bytes() >= opts_.idle_start_bytes && dev_.in_flight() == 0) submit();
}

int BioChain::wait() {
  submit();
  dev_.wait_until([this] { return outstanding_.load(std::memory_order_acquire) == 0; });
  return error_.exchange(0, std::memory_order_acq_rel);
}

}  // namespace chainfs::io
