#pragma once
// CompoundBuffer: a large buffer made of pool pages that acts as one buffer. It is one
// contiguous run when the depot had one, otherwise a scatter list of pages (the fallback).
// iovecs() is the view io_uring (readv/writev) and fuse_reply_iov() take. RAII: the pages go
// back to the pool when the buffer dies, unless release_pages() handed them to the caller.
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <vector>

namespace chainfs::mem {

class PagePool;

class CompoundBuffer {
 public:
  CompoundBuffer() = default;
  // Takes ownership of `pages` (of `pool`, in buffer order) holding `bytes` bytes; `split`
  // keeps one iovec per page even where pages are adjacent (the forced fallback).
  CompoundBuffer(PagePool* pool, std::vector<void*> pages, size_t bytes, bool split);
  CompoundBuffer(CompoundBuffer&& o) noexcept;
  CompoundBuffer& operator=(CompoundBuffer&& o) noexcept;
  CompoundBuffer(const CompoundBuffer&) = delete;
  CompoundBuffer& operator=(const CompoundBuffer&) = delete;
  ~CompoundBuffer();

  size_t size() const { return bytes_; }
  size_t page_count() const { return pages_.size(); }
  bool empty() const { return pages_.empty(); }
  // One run: data() is the whole buffer. Otherwise data() is nullptr.
  bool contiguous() const { return iov_.size() <= 1; }
  char* data() const { return contiguous() && !iov_.empty() ? static_cast<char*>(iov_[0].iov_base) : nullptr; }
  // The i-th 4 KiB page of the buffer.
  char* page(size_t i) const { return static_cast<char*>(pages_[i]); }
  // The buffer as iovecs covering exactly size() bytes; adjacent pages merged unless split.
  std::span<const iovec> iovecs() const { return iov_; }

  // Copies between the buffer (at `offset`) and flat memory; returns the bytes copied
  // (clamped to size()).
  size_t copy_in(size_t offset, const void* src, size_t len);
  size_t copy_out(size_t offset, void* dst, size_t len) const;

  // Shrinks the buffer to `bytes` (<= size()); whole pages past the new end go back to the pool
  // (a read rounded up to the readahead window and cut at end of file).
  void trim(size_t bytes);
  // Hands the pages to the caller (e.g. the page cache), who frees each with PagePool::free_page.
  std::vector<void*> release_pages();

 private:
  void rebuild_iovecs();
  void free_all() noexcept;

  PagePool* pool_ = nullptr;
  std::vector<void*> pages_;
  std::vector<iovec> iov_;
  size_t bytes_ = 0;
  bool split_ = false;
};

}  // namespace chainfs::mem
