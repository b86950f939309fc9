#include "io/io_stats.h"

#include <bit>

namespace chainfs::io {

int LatencyHistogram::bucket_of(uint64_t ns) {
  if (ns < 4) return static_cast<int>(ns);  // exact; buckets 4..7 stay unused
  int log = 63 - std::countl_zero(ns);      // ns in [2^log, 2^(log+1)), log >= 2
  // The two bits below the leading one pick one of kSub sub-buckets.
  int b = log * kSub + static_cast<int>((ns >> (log - 2)) & 3);
  return b < kBuckets ? b : kBuckets - 1;
}

uint64_t LatencyHistogram::upper_bound(int bucket) {
  if (bucket < 4) return static_cast<uint64_t>(bucket);
  if (bucket < 2 * kSub) return 3;
  int log = bucket / kSub, sub = bucket % kSub;
  // Bucket covers [2^(log-2) * (4+sub), 2^(log-2) * (5+sub)).
  return (uint64_t{1} << (log - 2)) * static_cast<uint64_t>(5 + sub) - 1;
}

void LatencyHistogram::record(uint64_t ns) {
  b_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
  uint64_t m = max_.load(std::memory_order_relaxed);
  while (ns > m && !max_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
  }
}

uint64_t LatencyHistogram::count() const {
  uint64_t n = 0;
  for (const auto& b : b_) n += b.load(std::memory_order_relaxed);
  return n;
}

uint64_t LatencyHistogram::percentile(double q) const {
  uint64_t total = count();
  if (total == 0) return 0;
  auto rank = static_cast<uint64_t>(q * double(total));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += b_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(upper_bound(i), max());
  }
  return max();
}

void LatencyHistogram::reset() {
  for (auto& b : b_) b.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

void IoStats::on_submit(BioOp op, uint64_t bytes, uint32_t segments, uint64_t in_flight) {
  auto i = static_cast<int>(op);
  sub_[i].fetch_add(1, std::memory_order_relaxed);
  bytes_[i].fetch_add(bytes, std::memory_order_relaxed);
  segments_.fetch_add(segments, std::memory_order_relaxed);
  uint64_t m = hwm_.load(std::memory_order_relaxed);
  while (in_flight > m && !hwm_.compare_exchange_weak(m, in_flight, std::memory_order_relaxed)) {
  }
}

void IoStats::on_complete(uint64_t latency_ns, int status) {
  completions_.fetch_add(1, std::memory_order_relaxed);
  if (status < 0) errors_.fetch_add(1, std::memory_order_relaxed);
  latency_.record(latency_ns);
}

void IoStats::on_split(SplitReason why, uint64_t n) {
  splits_[static_cast<int>(why)].fetch_add(n, std::memory_order_relaxed);
}

IoStatsSnapshot IoStats::snapshot() const {
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  IoStatsSnapshot s;
  s.read_submissions = ld(sub_[0]);
  s.write_submissions = ld(sub_[1]);
  s.flush_submissions = ld(sub_[2]);
  s.submissions = s.read_submissions + s.write_submissions + s.flush_submissions;
  s.read_bytes = ld(bytes_[0]);
  s.write_bytes = ld(bytes_[1]);
  s.bytes = s.read_bytes + s.write_bytes;
  s.segments = ld(segments_);
  s.completions = ld(completions_);
  s.errors = ld(errors_);
  s.resubmits = ld(resubmits_);
  s.merges = ld(merges_);
  s.splits_max_sectors = ld(splits_[0]);
  s.splits_max_segments = ld(splits_[1]);
  s.splits_boundary = ld(splits_[2]);
  s.splits = s.splits_max_sectors + s.splits_max_segments + s.splits_boundary;
  s.backup_waits = ld(backup_waits_);
  s.in_flight_hwm = ld(hwm_);
  s.lat_p50_ns = latency_.percentile(0.50);
  s.lat_p90_ns = latency_.percentile(0.90);
  s.lat_p99_ns = latency_.percentile(0.99);
  s.lat_p999_ns = latency_.percentile(0.999);
  s.lat_max_ns = latency_.max();
  return s;
}

void IoStats::reset() {
  for (auto& a : sub_) a.store(0, std::memory_order_relaxed);
  for (auto& a : bytes_) a.store(0, std::memory_order_relaxed);
  for (auto& a : splits_) a.store(0, std::memory_order_relaxed);
  for (auto* a : {&segments_, &completions_, &errors_, &resubmits_, &merges_, &backup_waits_, &hwm_})
    a->store(0, std::memory_order_relaxed);
  latency_.reset();
}

nlohmann::json IoStatsSnapshot::to_json() const {
  return nlohmann::json{
      {"submissions", submissions},
      {"read_submissions", read_submissions},
      {"write_submissions", write_submissions},
      {"flush_submissions", flush_submissions},
      {"bytes", bytes},
      {"read_bytes", read_bytes},
      {"write_bytes", write_bytes},
      {"avg_bytes_per_submission", avg_bytes()},
      {"avg_write_bytes", avg_write_bytes()},
      {"avg_segments_per_submission", avg_segments()},
      {"completions", completions},
      {"errors", errors},
      {"resubmits", resubmits},
      {"merges", merges},
      {"splits", splits},
      {"splits_max_sectors", splits_max_sectors},
      {"splits_max_segments", splits_max_segments},
      {"splits_boundary", splits_boundary},
      {"backup_waits", backup_waits},
      {"in_flight_hwm", in_flight_hwm},
      {"latency_ns", {{"p50", lat_p50_ns}, {"p90", lat_p90_ns}, {"p99", lat_p99_ns}, {"p999", lat_p999_ns},
                      {"max", lat_max_ns}}},
  };
}

}  // namespace chainfs::io
