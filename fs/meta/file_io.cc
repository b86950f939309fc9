#include "fs/meta/file_io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/meta/extent_map.h"

namespace chainfs::fs {


namespace {
constexpr uint64_t kMaxBlocks = format::kMaxFileSize / kBlockSize;
}  // namespace

Result<size_t> FileIo::read(uint64_t off, size_t len, char* buf) {
  if (off >= in_.size) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, in_.size - off));
  if (len == 0) return size_t{0};
  std::memset(buf, 0, len);
  uint64_t first = off / kBlockSize, end = (off + len + kBlockSize - 1) / kBlockSize;
  uint64_t size_blocks = (in_.size + kBlockSize - 1) / kBlockSize;
  ExtentMap em(v_, ino_, in_);
  cache::PageCache& pc = v_.pages();
  int err = 0;
  int r = em.for_each(first, end, [&](const Extent& e) {
    // Holes and unwritten extents stay zeros; the cache never has pages for them.
    if (e.unwritten()) return true;
    // The whole extent (clipped to the file) so readahead can run inside it.
    uint64_t n = std::min(e.end(), size_blocks) - e.logical;
    err = pc.read(ino_, e.logical, e.physical, n, off, buf, len);
    return err == 0;
  });
  if (r < 0) return Error{r};
  if (err < 0) return Error{err};
  return len;
}

int FileIo::write_run(uint64_t phys, uint64_t lblk, uint64_t nblocks, uint64_t off, const char* buf,
                      size_t len, bool fresh) {
  // The cache copies the part of [off, off+len) inside the run into its pages, reading
  // partial edge blocks first unless fresh (new or unwritten: zeros around the data).
  return v_.pages().write(ino_, lblk, phys, nblocks, off, buf, len, fresh);
}

Result<size_t> FileIo::write(uint64_t off, const char* buf, size_t len) {
  if (len == 0) return size_t{0};
  if (off >= format::kMaxFileSize || len > format::kMaxFileSize - off) return Error{-EFBIG};
  uint64_t first = off / kBlockSize, end = (off + len + kBlockSize - 1) / kBlockSize;
  ExtentMap em(v_, ino_, in_);
  uint64_t cur = first;
  int err = 0;
  while (cur < end) {
    Extent e;
    bool found = false;
    int r = em.find(cur, &e, &found);
    if (r < 0) {
      err = r;
      break;
    }
    if (found && e.logical <= cur) {
      uint64_t n = std::min(e.end(), end) - cur;
      uint64_t phys = e.physical + (cur - e.logical);
      r = write_run(phys, cur, n, off, buf, len, e.unwritten());
      if (r < 0) {
        err = r;
        break;
      }
      if (e.unwritten()) {
        // Split the unwritten extent around the written part.
        if ((r = em.erase(e)) < 0) {
          err = r;
          break;
        }
        Extent parts[3] = {e, e, e};
        parts[0].len = static_cast<uint32_t>(cur - e.logical);
        parts[1].logical = cur;
        parts[1].physical = phys;
        parts[1].len = static_cast<uint32_t>(n);
        parts[1].flags = 0;
        parts[2].logical = cur + n;
        parts[2].physical = phys + n;
        parts[2].len = static_cast<uint32_t>(e.end() - cur - n);
        for (auto& p : parts)
          if (p.len && r == 0) r = p.flags ? em.insert(p) : em.insert_merge(p);
        if (r < 0) {
          err = r;
          break;
        }
      }
      cur += n;
      continue;
    }
    // A hole up to the next extent (or the end of the write): allocate near the block
    // after the previous extent so sequential writes stay contiguous.
    uint64_t hole_end = found ? std::min(e.logical, end) : end;
    uint64_t goal = v_.data_start();
    if (cur > 0) {
      Extent prev;
      bool pf = false;
      if ((r = em.find(cur - 1, &prev, &pf)) < 0) {
        err = r;
        break;
      }
      if (pf && prev.logical <= cur - 1) goal = prev.physical + (cur - prev.logical);
    }
    uint64_t want = std::min<uint64_t>(hole_end - cur, format::kMaxExtentBlocks);
    uint64_t start = 0;
    uint32_t got = 0;
    r = v_.balloc.alloc(goal, static_cast<uint32_t>(want), false, &start, &got);
    if (r < 0) {
      err = r;
      break;
    }
    r = write_run(start, cur, got, off, buf, len, true);
    if (r == 0) r = em.insert_merge(Extent{cur, start, got, 0});
    if (r < 0) {
      // Pages the cache may hold for these blocks go before the blocks do.
      v_.pages().invalidate(ino_, cur, cur + got - 1);
      v_.balloc.free(start, got);
      err = r;
      break;
    }
    in_.blocks += got;
    cur += got;
  }
  uint64_t done = cur >= end ? len : (cur * kBlockSize > off ? cur * kBlockSize - off : 0);
  if (done == 0 && err < 0) return Error{err};
  done = std::min<uint64_t>(done, len);
  in_.size = std::max(in_.size, off + done);
  return static_cast<size_t>(done);
}

Result<uint64_t> FileIo::blocks_needed(uint64_t off, uint64_t len) {
  if (len == 0 || off >= format::kMaxFileSize || len > format::kMaxFileSize - off) return uint64_t{0};
  uint64_t first = off / kBlockSize, end = (off + len + kBlockSize - 1) / kBlockSize;
  uint64_t mapped = 0;
  ExtentMap em(v_, ino_, in_);
  int r = em.for_each(first, end, [&](const Extent& e) {
    mapped += std::min(end, e.end()) - std::max(first, e.logical);
    return true;
  });
  if (r < 0) return Error{r};
  return (end - first) - mapped;
}

int FileIo::zero_partial(uint64_t off, uint64_t len) {
  if (len == 0) return 0;
  uint64_t blk = off / kBlockSize;
  ExtentMap em(v_, ino_, in_);
  Extent e;
  bool found = false;
  int r = em.find(blk, &e, &found);
  if (r < 0) return r;
  if (!found || e.logical > blk || e.unwritten()) return 0;
  // Through the cache: a cached page of this block would otherwise hide the zeros.
  static const char kZeros[kBlockSize] = {};
  return v_.pages().write(ino_, blk, e.physical + (blk - e.logical), 1, off, kZeros, len, false);
}

int FileIo::truncate(uint64_t size) {
  if (size > format::kMaxFileSize) return -EFBIG;
  if (size < in_.size) {
    uint64_t keep = (size + kBlockSize - 1) / kBlockSize;
    ExtentMap em(v_, ino_, in_);
    // Before the blocks are freed: waits for their writeback, so no late write lands on a
    // block that has a new owner.
    v_.pages().invalidate(ino_, keep, UINT64_MAX);
    int r = em.punch(keep, kMaxBlocks);
    if (r < 0) return r;
    // Zero the tail of the new last block so a later extension reads zeros there.
    if (size % kBlockSize) {
      r = zero_partial(size, kBlockSize - size % kBlockSize);
      if (r < 0) return r;
    }
  }
  in_.size = size;
  return 0;
}

int FileIo::allocate(uint64_t off, uint64_t len) {
  if (off >= format::kMaxFileSize || len > format::kMaxFileSize - off) return -EFBIG;
  uint64_t first = off / kBlockSize, end = (off + len + kBlockSize - 1) / kBlockSize;
  ExtentMap em(v_, ino_, in_);
  uint64_t cur = first;
  while (cur < end) {
    Extent e;
    bool found = false;
    int r = em.find(cur, &e, &found);
    if (r < 0) return r;
    if (found && e.logical <= cur) {
      cur = e.end();
      continue;
    }
    uint64_t hole_end = found ? std::min(e.logical, end) : end;
    uint64_t goal = v_.data_start();
    if (cur > 0) {
      Extent prev;
      bool pf = false;
      if ((r = em.find(cur - 1, &prev, &pf)) < 0) return r;
      if (pf && prev.logical <= cur - 1) goal = prev.physical + (cur - prev.logical);
    }
    uint64_t start = 0;
    uint32_t got = 0;
    uint64_t want = std::min<uint64_t>(hole_end - cur, format::kMaxExtentBlocks);
    if ((r = v_.balloc.alloc(goal, static_cast<uint32_t>(want), false, &start, &got)) < 0) return r;
    if ((r = em.insert_merge(Extent{cur, start, got, format::kExtentUnwritten})) < 0) {
      v_.balloc.free(start, got);
      return r;
    }
    in_.blocks += got;
    cur += got;
  }
  return 0;
}

int FileIo::punch(uint64_t off, uint64_t len) {
  if (len == 0) return 0;
  uint64_t end_off = std::min(off + len, format::kMaxFileSize);
  uint64_t first_full = (off + kBlockSize - 1) / kBlockSize, end_full = end_off / kBlockSize;
  int r = 0;
  if (first_full > end_full) {
    // Inside one block.
    return zero_partial(off, end_off - off);
  }
  if (off % kBlockSize && (r = zero_partial(off, first_full * kBlockSize - off)) < 0) return r;
  if (end_off % kBlockSize && (r = zero_partial(end_full * kBlockSize, end_off % kBlockSize)) < 0)
    return r;
  if (end_full <= first_full) return 0;
  v_.pages().invalidate(ino_, first_full, end_full - 1);  // before the blocks are freed
  ExtentMap em(v_, ino_, in_);
  return em.punch(first_full, end_full);
}

int FileIo::zero_range(uint64_t off, uint64_t len) {
  int r = punch(off, len);
  if (r < 0) return r;
  uint64_t first_full = (off + kBlockSize - 1) / kBlockSize, end_full = (off + len) / kBlockSize;
  if (end_full > first_full)
    return allocate(first_full * kBlockSize, (end_full - first_full) * kBlockSize);
  return 0;
}

Result<uint64_t> FileIo::seek(uint64_t off, int whence) {
  if (off >= in_.size) return Error{-ENXIO};
  ExtentMap em(v_, ino_, in_);
  uint64_t blk = off / kBlockSize;
  uint64_t result = in_.size;
  bool data_found = false, hole_found = false;
  uint64_t cur = blk;
  int r = em.for_each(blk, kMaxBlocks, [&](const Extent& e) {
    bool data = !e.unwritten();
    if (whence == SEEK_DATA) {
      if (data) {
        result = std::max(off, e.logical * kBlockSize);
        data_found = true;
        return false;
      }
      return true;
    }
    // SEEK_HOLE: a gap before this extent, or an unwritten extent, is a hole.
    if (e.logical > cur || !data) {
      result = std::max(off, cur * kBlockSize);
      hole_found = true;
      return false;
    }
    cur = e.end();
    return true;
  });
  if (r < 0) return Error{r};
  if (whence == SEEK_DATA) {
    if (!data_found || result >= in_.size) return Error{-ENXIO};
    return result;
  }
  if (!hole_found) result = std::max(off, cur * kBlockSize);  // after the last extent
  return std::min(result, in_.size);
}

}  // namespace chainfs::fs
