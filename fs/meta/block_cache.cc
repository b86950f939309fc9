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
  *err = dev_.read(blk * kBlockSize, e->buf.data(), kBlockSize);
  if (*err < 0) return nullptr;
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
  slot->dirty = true;
}

int BlockCache::modify(uint64_t blk, const std::function<void(char*)>& fn) {
  std::lock_guard g(mu_);
  int err = 0;
  Entry* e = load_locked(blk, &err);
  if (!e) return err;
  fn(e->buf.data());
  e->dirty = true;
  return 0;
}

void BlockCache::forget(uint64_t blk) {
  std::lock_guard g(mu_);
  map_.erase(blk);
}

int BlockCache::flush_dirty() {
  std::lock_guard fg(flush_mu_);
  // Snapshot dirty blocks under the lock and mark them clean; a block re-dirtied while
  // it is being written stays dirty for the next round.
  std::vector<std::pair<uint64_t, mem::AlignedBuffer>> batch;
  {
    std::lock_guard g(mu_);
    for (auto& [blk, e] : map_) {
      if (!e->dirty) continue;
      mem::AlignedBuffer copy(kBlockSize);
      std::memcpy(copy.data(), e->buf.data(), kBlockSize);
      batch.emplace_back(blk, std::move(copy));
      e->dirty = false;
    }
  }
  std::sort(batch.begin(), batch.end(), [](auto& a, auto& b) { return a.first < b.first; });
  int first_err = 0;
  for (auto& [blk, buf] : batch) {
    int r = dev_.write(blk * kBlockSize, buf.data(), kBlockSize);
    if (r < 0) {
      if (!first_err) first_err = r;
      std::lock_guard g(mu_);
      auto it = map_.find(blk);
      if (it != map_.end()) it->second->dirty = true;
    }
  }
  return first_err;
}

size_t BlockCache::dirty_count() const {
  std::lock_guard g(mu_);
  return static_cast<size_t>(std::count_if(map_.begin(), map_.end(), [](auto& kv) { return kv.second->dirty; }));
}

size_t BlockCache::size() const {
  std::lock_guard g(mu_);
  return map_.size();
}

}  // namespace chainfs::fs
