#pragma once
// IoStats: what one device's engine did — submissions, bytes, average request size and
// segments, builder merges and splits, backup-request waits, completion latency
// percentiles, in-flight high-water mark. Lock-free counters, safe from any thread; a
// snapshot is approximately consistent (counters are read one by one).
#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "io/bio.h"

namespace chainfs::io {

// Latency histogram: 4 buckets per power of two of nanoseconds (≤ 19% relative error),
// from 1 ns to about 2^40 ns (18 minutes; longer goes into the last bucket).
class LatencyHistogram {
 public:
  static constexpr int kSub = 4;
  static constexpr int kBuckets = 41 * kSub;
  void record(uint64_t ns);
  uint64_t count() const;
  // The latency below which a fraction q (0..1] of the samples fall (bucket upper bound).
  uint64_t percentile(double q) const;
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  void reset();

  static int bucket_of(uint64_t ns);
  static uint64_t upper_bound(int bucket);

 private:
  std::atomic<uint64_t> b_[kBuckets] = {};
  std::atomic<uint64_t> max_{0};
};

struct IoStatsSnapshot {
  uint64_t submissions = 0, read_submissions = 0, write_submissions = 0, flush_submissions = 0;
  uint64_t bytes = 0, read_bytes = 0, write_bytes = 0, segments = 0;
  uint64_t completions = 0, errors = 0, resubmits = 0;
  uint64_t merges = 0, splits = 0, splits_max_sectors = 0, splits_max_segments = 0, splits_boundary = 0;
  uint64_t backup_waits = 0;
  uint64_t in_flight_hwm = 0;
  uint64_t lat_p50_ns = 0, lat_p90_ns = 0, lat_p99_ns = 0, lat_p999_ns = 0, lat_max_ns = 0;

  double avg_bytes() const { return rw() ? double(read_bytes + write_bytes) / double(rw()) : 0.0; }
  double avg_write_bytes() const { return write_submissions ? double(write_bytes) / double(write_submissions) : 0.0; }
  double avg_segments() const { return rw() ? double(segments) / double(rw()) : 0.0; }
  uint64_t rw() const { return read_submissions + write_submissions; }
  nlohmann::json to_json() const;
};

class IoStats {
 public:
  // A request (leaf bio) handed to the device; in_flight is the count including it.
  void on_submit(BioOp op, uint64_t bytes, uint32_t segments, uint64_t in_flight);
  void on_complete(uint64_t latency_ns, int status);
  void on_resubmit() { resubmits_.fetch_add(1, std::memory_order_relaxed); }
  void on_merge() { merges_.fetch_add(1, std::memory_order_relaxed); }
  void on_split(SplitReason why, uint64_t n = 1);
  void on_backup_wait() { backup_waits_.fetch_add(1, std::memory_order_relaxed); }

  IoStatsSnapshot snapshot() const;
  nlohmann::json to_json() const { return snapshot().to_json(); }
  void reset();

 private:
  std::atomic<uint64_t> sub_[3] = {};    // by BioOp
  std::atomic<uint64_t> bytes_[3] = {};  // by BioOp
  std::atomic<uint64_t> segments_{0}, completions_{0}, errors_{0}, resubmits_{0};
  std::atomic<uint64_t> merges_{0}, splits_[3] = {}, backup_waits_{0}, hwm_{0};
  LatencyHistogram latency_;
};

}  // namespace chainfs::io
