#pragma once
// AlignedBuffer: an owned, zero-initialised buffer aligned for O_DIRECT (4 KiB).
// The simple allocator for one-off buffers (journal images, tools); the page pool
// (page_pool.h) serves the data path and the metadata block cache.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/block_size.h"

namespace chainfs::mem {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size) : size_(round_up(size)) {
    data_ = static_cast<char*>(std::aligned_alloc(kBlockSize, size_ ? size_ : kBlockSize));
    if (!data_) throw std::bad_alloc();
    std::memset(data_, 0, size_);
  }
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  static size_t round_up(size_t n) { return (n + kBlockSize - 1) / kBlockSize * kBlockSize; }
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace chainfs::mem
