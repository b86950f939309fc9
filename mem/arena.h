#pragma once
// Arena: one large mmap'd region of 4 KiB pages (2 MiB aligned, MADV_HUGEPAGE so that the
// kernel can back it with transparent huge pages, which keeps a contiguous run of pages
// physically contiguous too) and a bitmap of its free pages. Owns the mapping (RAII).
// Not thread-safe: the depot's lock guards it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "mem/aligned_buffer.h"  // kBlockSize

namespace chainfs::mem {

inline constexpr size_t kHugePageSize = size_t{2} << 20;

class Arena {
 public:
  static constexpr size_t npos = ~size_t{0};

  // Maps at least `bytes` (rounded up to 2 MiB); nullptr when mmap fails.
  static std::unique_ptr<Arena> map(size_t bytes);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  char* base() const { return base_; }
  size_t page_count() const { return pages_; }
  size_t free_count() const { return free_; }
  bool contains(const void* p) const {
    auto* c = static_cast<const char*>(p);
    return c >= base_ && c < base_ + pages_ * kBlockSize;
  }

  // Takes up to `n` free pages, lowest addresses first, appending them to `out`; returns how many.
  size_t take(size_t n, void** out);
  // Takes the lowest run of `n` contiguous free pages; its first page, or nullptr if none.
  char* take_run(size_t n);
  // Gives a page back; false if it was not taken (a double free, ignored).
  bool put(const void* page);

 private:
  Arena(char* base, size_t pages);
  size_t next_free(size_t from) const;  // first free page index >= from, or pages_
  size_t next_used(size_t from) const;  // first taken page index >= from, or pages_
  void mark_taken(size_t first, size_t n);

  char* base_;
  size_t pages_;
  size_t free_;
  size_t hint_ = 0;             // no free page below this index
  std::vector<uint64_t> bits_;  // 1 = free
};

}  // namespace chainfs::mem
