#include "mem/compound.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "mem/page_pool.h"

namespace chainfs::mem {

CompoundBuffer::CompoundBuffer(PagePool* pool, std::vector<void*> pages, size_t bytes, bool split)
    : pool_(pool), pages_(std::move(pages)), bytes_(bytes), split_(split) {
  rebuild_iovecs();
}

CompoundBuffer::CompoundBuffer(CompoundBuffer&& o) noexcept
    : pool_(o.pool_), pages_(std::move(o.pages_)), iov_(std::move(o.iov_)), bytes_(o.bytes_), split_(o.split_) {
  o.pages_.clear();
  o.iov_.clear();
  o.bytes_ = 0;
}

CompoundBuffer& CompoundBuffer::operator=(CompoundBuffer&& o) noexcept {
  if (this != &o) {
    free_all();
    pool_ = o.pool_;
    pages_ = std::move(o.pages_);
    iov_ = std::move(o.iov_);
    bytes_ = o.bytes_;
    split_ = o.split_;
    o.pages_.clear();
    o.iov_.clear();
    o.bytes_ = 0;
  }
  return *this;
}

CompoundBuffer::~CompoundBuffer() { free_all(); }

void CompoundBuffer::free_all() noexcept {
  if (!pages_.empty() && pool_) pool_->free_gang(pages_);
  pages_.clear();
  iov_.clear();
  bytes_ = 0;
}

void CompoundBuffer::rebuild_iovecs() {
  iov_.clear();
  size_t left = bytes_;
  for (size_t i = 0; i < pages_.size() && left > 0; ++i) {
    size_t len = std::min(left, kBlockSize);
    char* p = page(i);
    if (!split_ && !iov_.empty() && static_cast<char*>(iov_.back().iov_base) + iov_.back().iov_len == p) {
      iov_.back().iov_len += len;
    } else {
      iov_.push_back(iovec{p, len});
    }
    left -= len;
  }
}

size_t CompoundBuffer::copy_in(size_t offset, const void* src, size_t len) {
  if (offset >= bytes_) return 0;
  len = std::min(len, bytes_ - offset);
  const char* s = static_cast<const char*>(src);
  for (size_t done = 0; done < len;) {
    size_t pos = offset + done;
    size_t n = std::min(len - done, kBlockSize - pos % kBlockSize);
    std::memcpy(page(pos / kBlockSize) + pos % kBlockSize, s + done, n);
    done += n;
  }
  return len;
}

size_t CompoundBuffer::copy_out(size_t offset, void* dst, size_t len) const {
  if (offset >= bytes_) return 0;
  len = std::min(len, bytes_ - offset);
  char* d = static_cast<char*>(dst);
  for (size_t done = 0; done < len;) {
    size_t pos = offset + done;
    size_t n = std::min(len - done, kBlockSize - pos % kBlockSize);
    std::memcpy(d + done, page(pos / kBlockSize) + pos % kBlockSize, n);
    done += n;
  }
  return len;
}

void CompoundBuffer::trim(size_t bytes) {
  if (bytes >= bytes_) return;
  size_t keep = (bytes + kBlockSize - 1) / kBlockSize;
  if (keep < pages_.size()) {
    if (pool_) pool_->free_gang(std::span<void* const>(pages_).subspan(keep));
    pages_.resize(keep);
  }
  bytes_ = bytes;
  rebuild_iovecs();
}

std::vector<void*> CompoundBuffer::release_pages() {
  std::vector<void*> out = std::move(pages_);
  pages_.clear();
  iov_.clear();
  bytes_ = 0;
  return out;
}

}  // namespace chainfs::mem
