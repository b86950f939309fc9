#include "mem/arena.h"

#include <sys/mman.h>

#include <bit>
#include <cstdint>

namespace chainfs::mem {

std::unique_ptr<Arena> Arena::map(size_t bytes) {
  bytes = (bytes + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
  if (bytes == 0) bytes = kHugePageSize;
  // Over-map by one huge page and trim, so that the arena starts on a 2 MiB boundary and every
  // 2 MiB of it can be one huge page.
  size_t span = bytes + kHugePageSize;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + span, used_end = aligned + bytes;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  auto* base = reinterpret_cast<char*>(aligned);
  // Advice only: without THP the arena still works with 4 KiB pages.
  (void)madvise(base, bytes, MADV_HUGEPAGE);
  return std::unique_ptr<Arena>(new Arena(base, bytes / kBlockSize));
}

Arena::Arena(char* base, size_t pages) : base_(base), pages_(pages), free_(pages), bits_((pages + 63) / 64, ~uint64_t{0}) {
  if (pages % 64) bits_.back() = (uint64_t{1} << (pages % 64)) - 1;
}

Arena::~Arena() { munmap(base_, pages_ * kBlockSize); }

size_t Arena::next_free(size_t from) const {
  if (from >= pages_) return pages_;
  size_t w = from / 64;
  uint64_t word = bits_[w] & (~uint64_t{0} << (from % 64));
  while (!word) {
    if (++w == bits_.size()) return pages_;
    word = bits_[w];
  }
  size_t i = w * 64 + static_cast<size_t>(std::countr_zero(word));
  return i < pages_ ? i : pages_;
}

size_t Arena::next_used(size_t from) const {
  if (from >= pages_) return pages_;
  size_t w = from / 64;
  uint64_t word = ~bits_[w] & (~uint64_t{0} << (from % 64));
  while (!word) {
    if (++w == bits_.size()) return pages_;
    word = ~bits_[w];
  }
  size_t i = w * 64 + static_cast<size_t>(std::countr_zero(word));
  return i < pages_ ? i : pages_;
}

void Arena::mark_taken(size_t first, size_t n) {
  size_t i = first, end = first + n;
  while (i < end) {
    size_t w = i / 64, bit = i % 64;
    size_t len = std::min<size_t>(64 - bit, end - i);
    uint64_t mask = (len == 64 ? ~uint64_t{0} : ((uint64_t{1} << len) - 1)) << bit;
    bits_[w] &= ~mask;
    i += len;
  }
  free_ -= n;
}

size_t Arena::take(size_t n, void** out) {
  size_t got = 0;
  size_t w = hint_ / 64;
  while (got < n && w < bits_.size()) {
    uint64_t word = bits_[w];
    if (word == ~uint64_t{0} && n - got >= 64) {
      // A whole free word: 64 consecutive pages.
      char* p = base_ + w * 64 * kBlockSize;
      for (size_t k = 0; k < 64; ++k) out[got++] = p + k * kBlockSize;
      bits_[w] = 0;
    } else {
      while (word && got < n) {
        size_t bit = static_cast<size_t>(std::countr_zero(word));
        out[got++] = base_ + (w * 64 + bit) * kBlockSize;
        word &= word - 1;
      }
      bits_[w] = word;
    }
    if (bits_[w] == 0) ++w;
  }
  free_ -= got;
  hint_ = w * 64;
  return got;
}

char* Arena::take_run(size_t n) {
  if (n == 0 || n > free_) return nullptr;
  size_t start = next_free(hint_);
  hint_ = start;
  while (start + n <= pages_) {
    size_t end = next_used(start);
    if (end - start >= n) {
      mark_taken(start, n);
      if (start == hint_) hint_ = start + n;
      return base_ + start * kBlockSize;
    }
    start = next_free(end);
  }
  return nullptr;
}

bool Arena::put(const void* page) {
  size_t i = static_cast<size_t>(static_cast<const char*>(page) - base_) / kBlockSize;
  uint64_t mask = uint64_t{1} << (i % 64);
  if (bits_[i / 64] & mask) return false;
  bits_[i / 64] |= mask;
  ++free_;
  if (i < hint_) hint_ = i;
  return true;
}

}  // namespace chainfs::mem
