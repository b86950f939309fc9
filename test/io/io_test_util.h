#pragma once
// Helpers for the io/ tests: page-aligned memory (optionally on huge pages, so that a whole
// request is physically contiguous) and a pattern to check data. Image files and loop
// devices are test/lib's.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "test/lib/loop_device.h"
#include "test/lib/temp.h"

namespace chainfs::test {

// Anonymous memory, 2 MiB aligned, with MADV_HUGEPAGE when asked.
struct Mapping {
  char* data = nullptr;
  size_t size = 0;
  size_t map_size = 0;
  void* base = MAP_FAILED;
  explicit Mapping(size_t bytes, bool huge = false) {
    constexpr size_t k2M = 2u << 20;
    size = bytes;
    map_size = bytes + k2M;
    base = mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base != MAP_FAILED);
    auto p = (reinterpret_cast<uintptr_t>(base) + k2M - 1) / k2M * k2M;
    data = reinterpret_cast<char*>(p);
    if (huge) madvise(data, bytes, MADV_HUGEPAGE);
    std::memset(data, 0, bytes);
  }
  ~Mapping() {
    if (base != MAP_FAILED) munmap(base, map_size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

// The byte expected at a device offset in pattern tests: depends on the 4 KiB block and a seed.
inline char pattern_byte(uint64_t dev_off, uint32_t seed) {
  uint64_t x = (dev_off / 4096 + 1) * 0x9E3779B97F4A7C15ull + seed;
  return static_cast<char>((x >> 29) + dev_off % 4096 / 512);
}
inline void fill_pattern(char* p, uint64_t dev_off, uint64_t len, uint32_t seed) {
  for (uint64_t i = 0; i < len; i += 512) std::memset(p + i, pattern_byte(dev_off + i, seed), 512);
}
inline bool check_pattern(const char* p, uint64_t dev_off, uint64_t len, uint32_t seed) {
  for (uint64_t i = 0; i < len; ++i)
    if (p[i] != pattern_byte(dev_off + i / 512 * 512, seed)) return false;
  return true;
}

}  // namespace chainfs::test
