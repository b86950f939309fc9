#include "fs/meta/block_cache.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fs/format/layout.h"

namespace chainfs::fs {

using format::kBlockSize;

BlockCache::Entry* BlockCache::load_locked(uint64_t blk, int* err) {
  auto it = map_.find(blk);
  if (it != map_.end()) return it->second.get();
  // Reading under the lock keeps the cache simple; metadata misses are rare once the
  // working set is cached, and file data never goes through here.
  auto e = std::make_unique<Entry>();
  e->buf = mem::AlignedBuffer(kBlockSize);
  if (auto c = committed_.find(blk); c != committed_.end()) {
    // Committed but not yet at home: the journal's image is the current one.
    std::memcpy(e->buf.data(), c->second->data(), kBlockSize);
  } else {
    *err = dev_.read(blk * kBlockSize, e->buf.data(), kBlockSize);
    if (*err < 0) return nullptr;
  }
  trim_locked();
  Entry* p = e.get();
  map_.emplace(blk, std::move(e));
  return p;
}

void BlockCache::trim_locked() {
  if (map_.size() < max_clean_) return;
  for (auto it = map_.begin(); it != map_.end() && map_.size() > max_clean_ * 3 / 4;) {
    if (!it->second->dirty)
      it = map_.erase(it);
    else
      ++it;
  }
}

int BlockCache::read_uncached(uint64_t first, uint64_t n, char* buf) {
  if (int r = dev_.read(first * kBlockSize, buf, n * kBlockSize); r < 0) return r;
  std::lock_guard g(mu_);
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
  std::lock_guard g(mu_);
  int err = 0;
  Entry* e = load_locked(blk, &err);
  if (!e) return err;
  std::memcpy(buf, e->buf.data(), kBlockSize);
  return 0;
}

int BlockCache::read_part(uint64_t blk, size_t off, size_t len, void* buf) {
  std::lock_guard g(mu_);
  int err = 0;
  Entry* e = load_locked(blk, &err);
  if (!e) return err;
  std::memcpy(buf, e->buf.data() + off, len);
  return 0;
}

void BlockCache::write(uint64_t blk, const void* buf) {
  std::lock_guard g(mu_);
  auto& slot = map_[blk];
  if (!slot) {
    slot = std::make_unique<Entry>();
    slot->buf = mem::AlignedBuffer(kBlockSize);
  }
  std::memcpy(slot->buf.data(), buf, kBlockSize);
  set_dirty_locked(*slot, true);
}

int BlockCache::modify(uint64_t blk, const std::function<void(char*)>& fn) {
  std::lock_guard g(mu_);
  int err = 0;
  Entry* e = load_locked(blk, &err);
  if (!e) return err;
  fn(e->buf.data());
  set_dirty_locked(*e, true);
  return 0;
}

void BlockCache::forget(uint64_t blk) {
  std::lock_guard g(mu_);
  auto it = map_.find(blk);
  if (it == map_.end()) return;
  set_dirty_locked(*it->second, false);
  map_.erase(it);
}

int BlockCache::flush_dirty() {
  std::lock_guard fg(flush_mu_);
  // The running transaction's blocks, written home; a block re-dirtied while it is being
  // written stays dirty for the next round.
  std::vector<BlockImage> batch = take_dirty();
  int r = write_home(batch);
  if (r < 0) redirty(batch);
  return r;
}

std::vector<BlockImage> BlockCache::take_dirty() {
  std::vector<BlockImage> out;
  std::lock_guard g(mu_);
  out.reserve(dirty_n_.load(std::memory_order_relaxed));
  for (auto& [blk, e] : map_) {
    if (!e->dirty) continue;
    auto copy = std::make_shared<mem::AlignedBuffer>(kBlockSize);
    std::memcpy(copy->data(), e->buf.data(), kBlockSize);
    out.push_back({blk, std::move(copy)});
    set_dirty_locked(*e, false);
  }
  std::sort(out.begin(), out.end(), [](const BlockImage& a, const BlockImage& b) { return a.home < b.home; });
  return out;
}

void BlockCache::redirty(const std::vector<BlockImage>& blocks) {
  std::lock_guard g(mu_);
  for (const BlockImage& b : blocks) {
    auto& slot = map_[b.home];
    if (!slot) {
      // Evicted since (it was clean): its image is the newest content there is.
      slot = std::make_unique<Entry>();
      slot->buf = mem::AlignedBuffer(kBlockSize);
      std::memcpy(slot->buf.data(), b.data->data(), kBlockSize);
    }
    set_dirty_locked(*slot, true);
  }
}

void BlockCache::add_committed(const std::vector<BlockImage>& blocks) {
  std::lock_guard g(mu_);
  for (const BlockImage& b : blocks) committed_[b.home] = b.data;
}

bool BlockCache::awaiting_checkpoint(uint64_t blk) const {
  std::lock_guard g(mu_);
  return committed_.count(blk) != 0;
}

size_t BlockCache::committed_count() const {
  std::lock_guard g(mu_);
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
    std::lock_guard g(mu_);
    all.reserve(committed_.size());
    for (auto& [blk, img] : committed_) all.push_back({blk, img});
  }
  return write_home(std::move(all));
}

void BlockCache::checkpoint_done() {
  std::lock_guard g(mu_);
  committed_.clear();
}

size_t BlockCache::size() const {
  std::lock_guard g(mu_);
  return map_.size();
}

}  // namespace chainfs::fs
