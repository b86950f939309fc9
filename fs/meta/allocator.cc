#include "fs/meta/allocator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mem/aligned_buffer.h"

namespace chainfs::fs {

using format::kBitsPerBitmapBlock;

void Bitmap::load_block(uint32_t index, const uint8_t* bits) {
  // kBitsPerBitmapBlock is a multiple of 64, so a bitmap block's bytes map onto whole words.
  static_assert(kBitsPerBitmapBlock % 64 == 0);
  uint64_t base = uint64_t{index} * kBitsPerBitmapBlock;
  for (uint64_t j = 0; j < kBitsPerBitmapBlock / 8; ++j) {
    uint64_t item = base + 8 * j;
    if (item >= items_) break;
    uint64_t v = bits[j];
    if (items_ - item < 8) v &= (1u << (items_ - item)) - 1;  // bits past the end are not items
    words_[item / 64] |= v << (item % 64);
  }
}

uint64_t Bitmap::find_zero(uint64_t from) const {
  for (uint64_t w = from / 64; w < words_.size(); ++w) {
    uint64_t free = ~words_[w];
    if (w == from / 64) free &= ~0ull << (from % 64);
    if (free) {
      uint64_t i = w * 64 + static_cast<uint64_t>(__builtin_ctzll(free));
      return i < items_ ? i : items_;
    }
  }
  return items_;
}

void Bitmap::store_block(uint32_t index, uint8_t* bits) const {
  uint64_t base = uint64_t{index} * kBitsPerBitmapBlock;
  for (uint64_t i = 0; i < kBitsPerBitmapBlock; ++i) {
    bool v = base + i >= items_ || test(base + i);  // bits past the end read as used
    if (v)
      bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    else
      bits[i / 8] &= static_cast<uint8_t>(~(1u << (i % 8)));
  }
}

namespace {
int load_bitmap(BlockCache& cache, format::BitmapKind kind, uint64_t start, uint64_t nblocks,
                Bitmap* bits, std::string* why) {
  // Read past the cache in 1 MiB requests (a 1 TiB filesystem has 8224 bitmap blocks);
  // the allocator keeps the bits, and write-back replaces whole blocks.
  constexpr uint64_t kBatch = 256;
  mem::AlignedBuffer buf(std::clamp<uint64_t>(nblocks, 1, kBatch) * kBlockSize);
  for (uint64_t i = 0; i < nblocks; i += kBatch) {
    uint64_t n = std::min(kBatch, nblocks - i);
    int r = cache.read_uncached(start + i, n, buf.data());
    if (r < 0) {
      *why = fmt::format("cannot read bitmap blocks {}..{}", start + i, start + i + n - 1);
      return r;
    }
    for (uint64_t k = 0; k < n; ++k) {
      const char* b = buf.data() + k * kBlockSize;
      if (format::check_bitmap_block(b, kind, static_cast<uint32_t>(i + k)) < 0) {
        *why = fmt::format("{} bitmap block {} fails its checksum",
                           kind == format::BitmapKind::kBlocks ? "block" : "inode", start + i + k);
        return -EUCLEAN;
      }
      bits->load_block(static_cast<uint32_t>(i + k), format::bitmap_bits(b));
    }
  }
  return 0;
}

void store_bitmap(BlockCache& cache, format::BitmapKind kind, uint64_t start, const Bitmap& bits,
                  const std::set<uint32_t>& dirty) {
  mem::AlignedBuffer buf(kBlockSize);
  for (uint32_t i : dirty) {
    std::memset(buf.data(), 0, kBlockSize);
    bits.store_block(i, format::bitmap_bits(buf.data()));
    format::seal_bitmap_block(buf.data(), kind, i);
    cache.write(start + i, buf.data());
  }
}
}  // namespace

int BlockAllocator::load(BlockCache& cache, uint64_t bitmap_start, uint64_t bitmap_blocks,
                         uint64_t block_count, uint64_t reserved, std::string* why) {
  base::MutexLock g(mu_);
  bits_.resize(block_count);
  bitmap_start_ = bitmap_start;
  reserved_ = reserved;
  int r = load_bitmap(cache, format::BitmapKind::kBlocks, bitmap_start, bitmap_blocks, &bits_, why);
  if (r < 0) return r;
  free_.clear();
  free_count_ = 0;
  uint64_t run = 0;
  for (uint64_t b = 0; b <= block_count;) {
    if (b < block_count && b % 64 == 0 && block_count - b >= 64) {
      uint64_t w = bits_.word(b / 64);
      if (w == 0) {  // 64 free blocks
        run += 64;
        b += 64;
        continue;
      }
      if (w == ~0ull && run == 0) {  // 64 used blocks
        b += 64;
        continue;
      }
    }
    if (b < block_count && !bits_.test(b)) {
      ++run;
      ++b;
      continue;
    }
    if (run) free_.emplace(b - run, run), free_count_ += run;
    run = 0;
    ++b;
  }
  return 0;
}

void BlockAllocator::touch_locked(uint64_t start, uint64_t len) {
  for (uint64_t i = start / kBitsPerBitmapBlock; i <= (start + len - 1) / kBitsPerBitmapBlock; ++i)
    dirty_.insert(static_cast<uint32_t>(i));
}

void BlockAllocator::take_locked(uint64_t start, uint64_t len) {
  auto it = std::prev(free_.upper_bound(start));
  uint64_t fs = it->first, fl = it->second;
  free_.erase(it);
  if (start > fs) free_.emplace(fs, start - fs);
  if (start + len < fs + fl) free_.emplace(start + len, fs + fl - start - len);
  for (uint64_t b = start; b < start + len; ++b) bits_.set(b);
  free_count_ -= len;
  touch_locked(start, len);
}

int BlockAllocator::alloc(uint64_t goal, uint32_t want, bool metadata, uint64_t* start, uint32_t* got) {
  base::MutexLock g(mu_);
  uint64_t usable = free_count_ - limbo_count_;
  uint64_t avail = metadata ? usable : (usable > reserved_ ? usable - reserved_ : 0);
  if (avail == 0 || free_.empty()) return -ENOSPC;
  if (want > avail) want = static_cast<uint32_t>(avail);
  // 1. the run containing goal; 2. the first run at/after goal that holds want (bounded
  // search); 3. the first run at/after goal; 4. wrap to the start.
  auto it = free_.upper_bound(goal);
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second > goal) {
      uint64_t len = std::min<uint64_t>(want, prev->first + prev->second - goal);
      take_locked(goal, len);
      *start = goal;
      *got = static_cast<uint32_t>(len);
      return 0;
    }
  }
  auto pick = free_.end();
  int budget = 256;
  for (auto j = it; j != free_.end() && budget-- > 0; ++j)
    if (j->second >= want) {
      pick = j;
      break;
    }
  if (pick == free_.end()) pick = it != free_.end() ? it : free_.begin();
  if (pick->second < want) {
    // Small runs only near the goal: take the largest of the first few anywhere instead.
    budget = 256;
    for (auto j = free_.begin(); j != free_.end() && budget-- > 0; ++j)
      if (j->second > pick->second) pick = j;
  }
  uint64_t s = pick->first;
  uint64_t len = std::min<uint64_t>(want, pick->second);
  take_locked(s, len);
  *start = s;
  *got = static_cast<uint32_t>(len);
  return 0;
}

void BlockAllocator::insert_free_locked(uint64_t start, uint64_t len) {
  auto next = free_.lower_bound(start);
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      len += prev->second;
      free_.erase(prev);
    }
  }
  if (next != free_.end() && next->first == start + len) {
    len += next->second;
    free_.erase(next);
  }
  free_.emplace(start, len);
}

void BlockAllocator::free(uint64_t start, uint64_t len) {
  base::MutexLock g(mu_);
  // Only blocks that are in use: a corrupt extent pointing at free blocks must not
  // corrupt the free-extent map or the counts.
  uint64_t end = std::min(start + len, bits_.items());
  for (uint64_t b = start; b < end;) {
    if (!bits_.test(b)) {
      ++b;
      continue;
    }
    uint64_t e = b;
    while (e < end && bits_.test(e)) ++e;
    for (uint64_t x = b; x < e; ++x) bits_.clear(x);
    free_count_ += e - b;
    touch_locked(b, e - b);
    freed_.push_back({b, e - b});
    limbo_count_ += e - b;
    b = e;
  }
}

std::vector<BlockRange> BlockAllocator::take_freed() {
  base::MutexLock g(mu_);
  return std::move(freed_);
}

void BlockAllocator::give_back_freed(const std::vector<BlockRange>& ranges) {
  base::MutexLock g(mu_);
  freed_.insert(freed_.end(), ranges.begin(), ranges.end());
}

void BlockAllocator::release(const std::vector<BlockRange>& ranges) {
  base::MutexLock g(mu_);
  for (const BlockRange& r : ranges) {
    insert_free_locked(r.start, r.len);
    limbo_count_ -= std::min(limbo_count_, r.len);
  }
}

bool BlockAllocator::has_freed() const {
  base::MutexLock g(mu_);
  return !freed_.empty();
}

uint64_t BlockAllocator::free_unreserved() const {
  base::MutexLock g(mu_);
  return free_count_ > reserved_ ? free_count_ - reserved_ : 0;
}

uint64_t BlockAllocator::limbo_blocks() const {
  base::MutexLock g(mu_);
  return limbo_count_;
}

bool BlockAllocator::has_dirty() const {
  base::MutexLock g(mu_);
  return !dirty_.empty();
}

bool InodeAllocator::has_dirty() const {
  base::MutexLock g(mu_);
  return !dirty_.empty();
}

uint64_t BlockAllocator::free_blocks() const {
  base::MutexLock g(mu_);
  return free_count_;
}

uint64_t BlockAllocator::available_blocks() const {
  base::MutexLock g(mu_);
  uint64_t usable = free_count_ - limbo_count_;
  return usable > reserved_ ? usable - reserved_ : 0;
}

bool BlockAllocator::in_use(uint64_t blk) const {
  base::MutexLock g(mu_);
  return bits_.test(blk);
}

void BlockAllocator::write_back(BlockCache& cache) {
  base::MutexLock g(mu_);
  store_bitmap(cache, format::BitmapKind::kBlocks, bitmap_start_, bits_, dirty_);
  dirty_.clear();
}

int InodeAllocator::load(BlockCache& cache, uint64_t bitmap_start, uint64_t bitmap_blocks,
                         uint64_t inode_count, std::string* why) {
  base::MutexLock g(mu_);
  bits_.resize(inode_count);
  count_ = inode_count;
  bitmap_start_ = bitmap_start;
  int r = load_bitmap(cache, format::BitmapKind::kInodes, bitmap_start, bitmap_blocks, &bits_, why);
  if (r < 0) return r;
  uint64_t used = 0;
  for (uint64_t w = 0; w < (inode_count + 63) / 64; ++w) used += static_cast<uint64_t>(__builtin_popcountll(bits_.word(w)));
  free_count_ = inode_count - used;
  return 0;
}

int InodeAllocator::alloc(uint64_t* ino) {
  base::MutexLock g(mu_);
  if (free_count_ == 0) return -ENOSPC;
  uint64_t i = bits_.find_zero(cursor_ < count_ ? cursor_ : 0);
  if (i >= count_) i = bits_.find_zero(0);
  if (i >= count_) return -ENOSPC;
  bits_.set(i);
  --free_count_;
  cursor_ = i + 1;
  dirty_.insert(static_cast<uint32_t>(i / kBitsPerBitmapBlock));
  *ino = i + 1;
  return 0;
}

void InodeAllocator::free(uint64_t ino) {
  base::MutexLock g(mu_);
  uint64_t i = ino - 1;
  if (!bits_.test(i)) return;
  bits_.clear(i);
  ++free_count_;
  dirty_.insert(static_cast<uint32_t>(i / kBitsPerBitmapBlock));
}

bool InodeAllocator::in_use(uint64_t ino) const {
  base::MutexLock g(mu_);
  return ino >= 1 && ino <= count_ && bits_.test(ino - 1);
}

uint64_t InodeAllocator::free_inodes() const {
  base::MutexLock g(mu_);
  return free_count_;
}

void InodeAllocator::write_back(BlockCache& cache) {
  base::MutexLock g(mu_);
  store_bitmap(cache, format::BitmapKind::kInodes, bitmap_start_, bits_, dirty_);
  dirty_.clear();
}

}  // namespace chainfs::fs
