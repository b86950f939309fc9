#pragma once
// Conversions between on-disk timestamps and timespec; the clock of the filesystem.
#include <ctime>

#include "fs/format/inode.h"

namespace chainfs::fs {

inline format::Timespec now_ts() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return {t.tv_sec, static_cast<uint32_t>(t.tv_nsec)};
}
inline timespec to_timespec(const format::Timespec& t) {
  timespec r{};
  r.tv_sec = static_cast<time_t>(t.sec);
  r.tv_nsec = static_cast<long>(t.nsec);
  return r;
}
inline format::Timespec from_timespec(const timespec& t) {
  return {static_cast<int64_t>(t.tv_sec), static_cast<uint32_t>(t.tv_nsec)};
}
inline bool ts_le(const format::Timespec& a, const format::Timespec& b) {
  return a.sec < b.sec || (a.sec == b.sec && a.nsec <= b.nsec);
}

}  // namespace chainfs::fs
