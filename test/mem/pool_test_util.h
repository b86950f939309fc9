#pragma once
// Helpers shared by the mem/ tests.
#include <sys/uio.h>

#include <cstdlib>
#include <span>
#include <string>

#include "mem/page_pool.h"

namespace chainfs::mem::test {

inline size_t iov_bytes(std::span<const iovec> iov) {
  size_t n = 0;
  for (const iovec& v : iov) n += v.iov_len;
  return n;
}

inline bool page_aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kBlockSize == 0; }

// Sets an environment variable for the scope of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// A pool's accounting once every page is back: what was handed out came back, nothing in use.
inline void check_balanced(const PagePool& pool) {
  PoolStats s = pool.stats();
  CHECK(s.allocs == s.frees);
  CHECK(s.pages_in_use == 0);
}

}  // namespace chainfs::mem::test
