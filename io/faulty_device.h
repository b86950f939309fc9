#pragma once
// FaultyDevice: wraps a Device to test what chainfs does when the device misbehaves
// (leveldb's fault_injection_test.cc, for a block device):
//  * EIO on chosen byte ranges, for reads, writes or both: a request that touches a failing
//    range fails as a whole with -EIO and transfers nothing;
//  * crash: writes since the last flush() live in an overlay (reads see them); flush()
//    applies the overlay to the inner device and flushes it; crash() discards it — as if
//    power was lost with the writes still in the drive's volatile cache;
//  * counters of requests, bytes, flushes and injected errors.
// Thread-safe (one lock; this is a test device).
#include <cstdint>
#include <map>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/device.h"

namespace chainfs::io {

class FaultyDevice final : public Device {
 public:
  enum Which : unsigned { kRead = 1, kWrite = 2, kBoth = 3 };
  struct Counters {
    uint64_t reads = 0, writes = 0, flushes = 0;
    uint64_t read_bytes = 0, write_bytes = 0;
    uint64_t injected_errors = 0;
    uint64_t crashes = 0, dropped_bytes = 0;  // bytes in the overlay discarded by crash()
  };

  // buffer_unflushed=false makes writes go straight to the inner device (no crash model).
  explicit FaultyDevice(Device& inner, bool buffer_unflushed = true);

  uint64_t size_bytes() const override { return inner_.size_bytes(); }
  const QueueLimits& limits() const override { return inner_.limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override EXCLUDES(mu_);
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override EXCLUDES(mu_);
  int flush() override EXCLUDES(mu_);

  // Requests overlapping [offset, offset+len) fail with -EIO for `which` operations.
  void fail_range(uint64_t offset, uint64_t len, Which which = kBoth) EXCLUDES(mu_);
  void clear_faults() EXCLUDES(mu_);
  // Forgets every write since the last successful flush().
  void crash() EXCLUDES(mu_);
  Counters counters() const EXCLUDES(mu_);
  // Bytes written but not yet flushed.
  uint64_t unflushed_bytes() const EXCLUDES(mu_);

 private:
  static constexpr uint64_t kSector = 512;
  struct Fault {
    uint64_t begin, end;
    unsigned which;
  };
  bool fails_locked(uint64_t offset, uint64_t len, Which op) const REQUIRES(mu_);

  Device& inner_;
  const bool buffer_;
  mutable base::Mutex mu_;
  std::vector<Fault> faults_ GUARDED_BY(mu_);
  // Unflushed writes, by sector number; each value is one 512-byte sector.
  std::map<uint64_t, std::vector<char>> overlay_ GUARDED_BY(mu_);
  Counters c_ GUARDED_BY(mu_);
};

}  // namespace chainfs::io
