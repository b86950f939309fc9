#pragma once
// Helpers for the io/ tests: temporary image files, page-aligned memory (optionally on huge
// pages, so that a whole request is physically contiguous), a loop device that is always
// detached, and a pattern to check data.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace chainfs::test {

// A sparse temporary image file, removed at scope exit.
struct TempImage {
  std::string path;
  explicit TempImage(uint64_t size) {
    char tmpl[] = "/var/tmp/chainfs-io-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, static_cast<off_t>(size)) == 0);
    close(fd);
    path = tmpl;
  }
  ~TempImage() { unlink(path.c_str()); }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
};

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

// A loop device over a file, detached in the destructor even when the test fails.
struct LoopDevice {
  std::string dev;  // "/dev/loopN"
  LoopDevice(const std::string& file, bool direct_io) {
    std::string cmd = "losetup -f --show " + std::string(direct_io ? "--direct-io=on " : "") + file;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[128] = {};
    bool got = fgets(buf, sizeof buf, p) != nullptr;
    pclose(p);
    REQUIRE(got);
    dev = buf;
    while (!dev.empty() && (dev.back() == '\n' || dev.back() == ' ')) dev.pop_back();
    REQUIRE(dev.rfind("/dev/loop", 0) == 0);
  }
  ~LoopDevice() {
    if (!dev.empty()) {
      std::string cmd = "losetup -d " + dev;
      if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "warning: %s failed\n", cmd.c_str());
      // The kernel detaches after the last close, asynchronously: wait (bounded) for it.
      std::string backing = "/sys/block/" + name() + "/loop/backing_file";
      for (int i = 0; i < 100 && access(backing.c_str(), F_OK) == 0; ++i) usleep(50000);
    }
  }
  std::string name() const { return dev.substr(5); }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
};

}  // namespace chainfs::test
