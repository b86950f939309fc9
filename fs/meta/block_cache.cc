#include "fs/meta/block_cache.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fs/format/layout.h"

namespace chainfs::fs {


BlockCache::BlockCache(io::Device& dev, size_t max_clean_blocks)
    : dev_(dev), writer_(dev), max_clean_(max_clean_blocks) {
  mem::PoolOptions po;  // no cap: the cache bounds itself (max_clean_, trim_locked)
  po.kind = mem::PoolKind::kGang;
  po.arena_bytes = size_t{8} << 20;
  pages_ = mem::make_page_pool(po);
}

BlockCache::Entry& BlockCache::insert_copy_locked(uint64_t blk, const void* src) {
  auto e = std::make_unique<Entry>(*pages_, static_cast<char*>(pages_->alloc_page()));
  std::memcpy(e->data, src, kBlockSize);
  Entry& ref = *e;
  map_.emplace(blk, std::move(e));
  return ref;
}

BlockCache::Entry* BlockCache::load(uint64_t blk, uint64_t ra_end, int* err) {
  for (;;) {
    if (auto it = map_.find(blk); it != map_.end()) return it->second.get();
    if (auto c = committed_.find(blk); c != committed_.end()) {
      // Committed but not yet at home: the journal's image is the current one.
      trim_locked();
      return &insert_copy_locked(blk, c->second->data());
    }
    // A miss: blk and the uncached blocks after it, in one request, without the lock.
    uint64_t n = 1;
    while (n < kMaxReadahead && blk + n < ra_end && !map_.count(blk + n) && !committed_.count(blk + n)) ++n;
    const uint64_t epoch = epoch_;
    // The pages are allocated before mu_ is dropped: nothing that can throw runs while the
    // caller's lock is not held.
    std::vector<void*> pages(n);
    std::vector<struct iovec> iov(n);
    pages_->alloc_gang(pages);
    for (uint64_t i = 0; i < n; ++i) iov[i] = {pages[i], kBlockSize};
    mu_.unlock();
    int r = dev_.readv(blk * kBlockSize, iov.data(), static_cast<int>(n));
    mu_.lock();
    // A block forgotten, evicted or checkpointed meanwhile may have changed at home after
    // the device read it: read again.
    if (r < 0 || epoch != epoch_) {
      pages_->free_gang(pages);
      if (r < 0) {
        *err = r;
        return nullptr;
      }
      continue;
    }
    trim_locked();
    for (uint64_t i = 0; i < n; ++i) {
      // Written, reloaded or committed meanwhile: that content is newer than the device's.
      if (map_.count(blk + i) || committed_.count(blk + i)) {
        pages_->free_page(pages[i]);
        continue;
      }
      map_.emplace(blk + i, std::make_unique<Entry>(*pages_, static_cast<char*>(pages[i])));
    }
  }
}

void BlockCache::trim_locked() {
  if (map_.size() < max_clean_) return;
  ++epoch_;
  for (auto it = map_.begin(); it != map_.end() && map_.size() > max_clean_ * 3 / 4;) {
    if (!it->second->dirty)
      it = map_.erase(it);
    else
      ++it;
  }
}

int BlockCache::read_uncached(uint64_t first, uint64_t n, char* buf) {
  if (int r = dev_.read(first * kBlockSize, buf, n * kBlockSize); r < 0) return r;
  base::MutexLock g(mu_);
  for (auto& [blk, img] : committed_)
    if (blk >= first && blk < first + n) std::memcpy(buf + (blk - first) * kBlockSize, img->data(), kBlockSize);
  return 0;
}

void BlockCache::set_dirty_locked(Entry& e, bool dirty) {
  if (e.dirty == dirty) return;
  e.dirty = dirty;
  if (dirty)
    dirty_n_.fetch_add(1, std::memory_order_relaxed);
  else
    dirty_n_.fetch_sub(1, std::memory_order_relaxed);
}

int BlockCache::read(uint64_t blk, void* buf) {
  base::MutexLock g(mu_);
  int err = 0;
  Entry* e = load(blk, 0, &err);
  if (!e) return err;
  std::memcpy(buf, e->data, kBlockSize);
  return 0;
}

int BlockCache::read_part(uint64_t blk, size_t off, size_t len, void* buf, uint64_t ra_end) {
  base::MutexLock g(mu_);
  int err = 0;
  Entry* e = load(blk, ra_end, &err);
  if (!e) return err;
  std::memcpy(buf, e->data + off, len);
  return 0;
}

void BlockCache::write(uint64_t blk, const void* buf) {
  base::MutexLock g(mu_);
  if (auto it = map_.find(blk); it != map_.end()) {
    std::memcpy(it->second->data, buf, kBlockSize);
    set_dirty_locked(*it->second, true);
  } else {
    set_dirty_locked(insert_copy_locked(blk, buf), true);
  }
}

int BlockCache::modify(uint64_t blk, const std::function<void(char*)>& fn) {
  base::MutexLock g(mu_);
  int err = 0;
  Entry* e = load(blk, 0, &err);
  if (!e) return err;
  fn(e->data);
  set_dirty_locked(*e, true);
  return 0;
}

void BlockCache::forget(uint64_t blk) {
  base::MutexLock g(mu_);
  ++epoch_;
  auto it = map_.find(blk);
  if (it == map_.end()) return;
  set_dirty_locked(*it->second, false);
  map_.erase(it);
}

int BlockCache::flush_dirty() {
  base::MutexLock fg(flush_mu_);
  // The running transaction's blocks, written home; a block re-dirtied while it is being
  // written stays dirty for the next round.
  std::vector<BlockImage> batch = take_dirty();
  int r = write_home(batch);
  if (r < 0) redirty(batch);
  return r;
}

std::vector<BlockImage> BlockCache::take_dirty() {
  std::vector<BlockImage> out;
  base::MutexLock g(mu_);
  out.reserve(dirty_n_.load(std::memory_order_relaxed));
  for (auto& [blk, e] : map_) {
    if (!e->dirty) continue;
    auto copy = std::make_shared<mem::AlignedBuffer>(kBlockSize);
    std::memcpy(copy->data(), e->data, kBlockSize);
    out.push_back({blk, std::move(copy)});
    set_dirty_locked(*e, false);
  }
  std::sort(out.begin(), out.end(), [](const BlockImage& a, const BlockImage& b) { return a.home < b.home; });
  return out;
}

void BlockCache::redirty(const std::vector<BlockImage>& blocks) {
  base::MutexLock g(mu_);
  for (const BlockImage& b : blocks) {
    auto it = map_.find(b.home);
    // Evicted since (it was clean): its image is the newest content there is.
    Entry& e = it != map_.end() ? *it->second : insert_copy_locked(b.home, b.data->data());
    set_dirty_locked(e, true);
  }
}

void BlockCache::add_committed(const std::vector<BlockImage>& blocks) {
  base::MutexLock g(mu_);
  for (const BlockImage& b : blocks) committed_[b.home] = b.data;
}

bool BlockCache::awaiting_checkpoint(uint64_t blk) const {
  base::MutexLock g(mu_);
  return committed_.count(blk) != 0;
}

size_t BlockCache::committed_count() const {
  base::MutexLock g(mu_);
  return committed_.size();
}

int BlockCache::write_home(std::vector<BlockImage> blocks) {
  std::sort(blocks.begin(), blocks.end(), [](const BlockImage& a, const BlockImage& b) { return a.home < b.home; });
  std::vector<BlockWriter::Block> out;
  out.reserve(blocks.size());
  for (const BlockImage& b : blocks) out.push_back({b.home, b.data->data()});
  return writer_.write(out);
}

int BlockCache::checkpoint() {
  std::vector<BlockImage> all;
  {
    base::MutexLock g(mu_);
    all.reserve(committed_.size());
    for (auto& [blk, img] : committed_) all.push_back({blk, img});
  }
  return write_home(std::move(all));
}

void BlockCache::checkpoint_done() {
  base::MutexLock g(mu_);
  ++epoch_;
  committed_.clear();
}

size_t BlockCache::size() const {
  base::MutexLock g(mu_);
  return map_.size();
}

}  // namespace chainfs::fs
