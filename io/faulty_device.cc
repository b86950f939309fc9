#include "io/faulty_device.h"

#include <cerrno>
#include <cstring>

namespace chainfs::io {

namespace {

uint64_t total_len(const struct iovec* iov, int iovcnt) {
  uint64_t n = 0;
  for (int i = 0; i < iovcnt; ++i) n += iov[i].iov_len;
  return n;
}

// Calls fn(byte position in the request, pointer, length) for pieces of the vector that
// stay within one sector.
template <class Fn>
void for_each_sector_piece(uint64_t offset, const struct iovec* iov, int iovcnt, uint64_t sector, Fn fn) {
  uint64_t pos = offset;
  for (int i = 0; i < iovcnt; ++i) {
    auto* p = static_cast<char*>(iov[i].iov_base);
    uint64_t left = iov[i].iov_len;
    while (left) {
      uint64_t in_sector = sector - pos % sector;
      uint64_t n = std::min(left, in_sector);
      fn(pos, p, n);
      pos += n;
      p += n;
      left -= n;
    }
  }
}

}  // namespace

FaultyDevice::FaultyDevice(Device& inner, bool buffer_unflushed) : inner_(inner), buffer_(buffer_unflushed) {}

bool FaultyDevice::fails_locked(uint64_t offset, uint64_t len, Which op) const {
  for (const Fault& f : faults_) {
    if ((f.which & op) && offset < f.end && offset + len > f.begin) return true;
  }
  return false;
}

void FaultyDevice::fail_range(uint64_t offset, uint64_t len, Which which) {
  base::MutexLock lk(mu_);
  faults_.push_back({offset, offset + len, which});
}

void FaultyDevice::clear_faults() {
  base::MutexLock lk(mu_);
  faults_.clear();
}

int FaultyDevice::readv(uint64_t offset, const struct iovec* iov, int iovcnt) {
  base::MutexLock lk(mu_);
  uint64_t len = total_len(iov, iovcnt);
  ++c_.reads;
  if (fails_locked(offset, len, kRead)) {
    ++c_.injected_errors;
    return -EIO;
  }
  if (int r = inner_.readv(offset, iov, iovcnt); r < 0) return r;
  c_.read_bytes += len;
  if (!overlay_.empty()) {
    for_each_sector_piece(offset, iov, iovcnt, kSector, [&](uint64_t pos, char* p, uint64_t n) {
      mu_.assert_held();  // runs here, under lk
      auto it = overlay_.find(pos / kSector);
      if (it != overlay_.end()) std::memcpy(p, it->second.data() + pos % kSector, n);
    });
  }
  return 0;
}

int FaultyDevice::writev(uint64_t offset, const struct iovec* iov, int iovcnt) {
  base::MutexLock lk(mu_);
  uint64_t len = total_len(iov, iovcnt);
  ++c_.writes;
  if (fails_locked(offset, len, kWrite)) {
    ++c_.injected_errors;
    return -EIO;
  }
  if (offset > inner_.size_bytes() || len > inner_.size_bytes() - offset) return -EIO;
  if (!buffer_) {
    if (int r = inner_.writev(offset, iov, iovcnt); r < 0) return r;
  } else {
    for_each_sector_piece(offset, iov, iovcnt, kSector, [&](uint64_t pos, char* p, uint64_t n) {
      mu_.assert_held();  // runs here, under lk
      auto& s = overlay_[pos / kSector];
      if (s.empty()) {
        s.resize(kSector);
        if (n < kSector) {
          // Partial sector (only for callers that ignore alignment): start from what the
          // inner device holds, like a drive's read-modify-write.
          struct iovec v{s.data(), kSector};
          inner_.readv(pos / kSector * kSector, &v, 1);
        }
      }
      std::memcpy(s.data() + pos % kSector, p, n);
    });
  }
  c_.write_bytes += len;
  return 0;
}

int FaultyDevice::flush() {
  base::MutexLock lk(mu_);
  ++c_.flushes;
  // Apply the overlay in runs of adjacent sectors (one writev per run).
  std::vector<struct iovec> run;
  uint64_t run_start = 0, next = 0;
  auto write_run = [&]() -> int {
    if (run.empty()) return 0;
    int r = inner_.writev(run_start * kSector, run.data(), static_cast<int>(run.size()));
    run.clear();
    return r;
  };
  for (auto& [sector, data] : overlay_) {
    if (run.empty() || sector != next || run.size() >= 512) {
      if (int r = write_run(); r < 0) return r;
      run_start = sector;
    }
    run.push_back({data.data(), kSector});
    next = sector + 1;
  }
  if (int r = write_run(); r < 0) return r;
  overlay_.clear();
  return inner_.flush();
}

void FaultyDevice::crash() {
  base::MutexLock lk(mu_);
  ++c_.crashes;
  c_.dropped_bytes += overlay_.size() * kSector;
  overlay_.clear();
}

FaultyDevice::Counters FaultyDevice::counters() const {
  base::MutexLock lk(mu_);
  return c_;
}

uint64_t FaultyDevice::unflushed_bytes() const {
  base::MutexLock lk(mu_);
  return overlay_.size() * kSector;
}

}  // namespace chainfs::io
