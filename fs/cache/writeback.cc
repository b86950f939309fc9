// PageCache: writeback (collect dirty pages, send them in device-offset order through a
// bio_chain), its completion, and the calls that must wait for it (invalidate, remap,
// forget).
#include <algorithm>
#include <cerrno>

#include "fs/cache/page_cache.h"

namespace chainfs::cache {

void PageCache::collect_locked(InodePages& ip, uint64_t first, uint64_t last, bool reclaim,
                               std::vector<WbItem>* out) {
  if (ip.dirty == 0) return;
  for (auto it = ip.pages.lower_bound(first); it != ip.pages.end() && it->first <= last; ++it) {
    CachePage* p = it->second.get();
    // A re-dirtied page still under writeback waits for that write to finish: two writes of
    // one block in flight at once could land in either order.
    if (!p->dirty || p->writeback) continue;
    p->dirty = false;
    --ip.dirty;
    p->writeback = true;
    p->wb_buf = p->data;
    p->wb_left = static_cast<uint32_t>(kBlockSize);
    p->wb_err = 0;
    p->drop_after_wb = reclaim;
    ip.writeback.fetch_add(1, std::memory_order_acq_rel);
    CacheStats::sub(stats_.dirty_pages);
    CacheStats::add(stats_.writeback_pages);
    out->push_back({p->phys, p, p->data});
  }
}

void PageCache::drop_page_locked(InodePages& ip, std::map<uint64_t, std::unique_ptr<CachePage>>::iterator it,
                                 std::vector<char*>* to_free) {
  CachePage* p = it->second.get();
  if (p->dirty) {
    --ip.dirty;
    CacheStats::sub(stats_.dirty_pages);
  }
  to_free->push_back(p->data);
  ip.pages.erase(it);
  CacheStats::sub(stats_.pages);
}

void PageCache::submit_items(io::BioChain& chain, std::vector<WbItem>& items, Trigger why) {
  if (items.empty()) return;
  std::sort(items.begin(), items.end(), [](const WbItem& a, const WbItem& b) { return a.phys < b.phys; });
  CacheStats::add(stats_.wb_batches[static_cast<int>(why)]);
  CacheStats::add(stats_.wb_pages[static_cast<int>(why)], items.size());
  for (const WbItem& w : items) {
    chain.append({w.buf, 0, static_cast<uint32_t>(kBlockSize)}, w.phys * kBlockSize, w.page);
    if (opts_.write == WriteStrategy::kPage) chain.submit();
  }
  chain.submit();
}

void PageCache::writeback_range(InodePages& ip, uint64_t first, uint64_t last, Trigger why) {
  base::MutexLock wl(ip.wb_mu);
  std::vector<WbItem> items;
  {
    base::MutexLock lk(ip.mu);
    collect_locked(ip, first, last, false, &items);
  }
  if (items.empty()) return;
  if (!ip.chain)
    ip.chain = std::make_unique<io::BioChain>(bio_pool_, io::ChainOptions{},
                                              [this](io::Bio& b, int s) { on_write_end(b, s); });
  submit_items(*ip.chain, items, why);
}

int PageCache::writeback(uint64_t ino, bool wait, Trigger why) {
  auto ip = get(ino, false);
  if (!ip) return 0;
  // Two passes: the second sends pages that were re-dirtied while an earlier write of them
  // was in flight (they could not be sent until it completed).
  for (int pass = 0; pass < (wait ? 2 : 1); ++pass) {
    writeback_range(*ip, 0, UINT64_MAX, why);
    if (wait) wait_idle(*ip);
  }
  if (!wait) return 0;
  base::MutexLock lk(ip->mu);
  int err = ip->wb_error;
  ip->wb_error = 0;
  return err;
}

int PageCache::writeback_all(bool wait, Trigger why) {
  base::MutexLock wl(all_wb_mu_);
  if (!all_chain_)
    all_chain_ = std::make_unique<io::BioChain>(bio_pool_, io::ChainOptions{},
                                                [this](io::Bio& b, int s) { on_write_end(b, s); });
  int err = 0;
  auto inodes = dirty_inodes();
  for (int pass = 0; pass < (wait ? 2 : 1); ++pass) {
    std::vector<WbItem> items;
    for (auto& ip : inodes) {
      base::MutexLock lk(ip->mu);
      collect_locked(*ip, 0, UINT64_MAX, why == Trigger::kReclaim, &items);
    }
    submit_items(*all_chain_, items, why);
    if (!wait) break;
    int r = all_chain_->wait();
    if (r < 0 && err == 0) err = r;
    for (auto& ip : inodes) wait_idle(*ip);
  }
  prune_dirty(inodes);
  return err;
}

void PageCache::on_write_end(io::Bio& bio, int status) {
  if (opts_.completion_probe) opts_.completion_probe();
  std::vector<char*> to_free;
  const std::vector<io::BioPage>& pages = bio.pages();
  auto owner_of = [](const io::BioPage& bp) { return static_cast<CachePage*>(bp.cookie)->owner; };
  // One lock per run of pages of one file (a request of writeback_all spans several).
  for (size_t i = 0; i < pages.size();) {
    InodePages& owner = *owner_of(pages[i]);
    base::MutexLock lk(owner.mu);
    for (; i < pages.size() && owner_of(pages[i]) == &owner; ++i) page_written_locked(owner, pages[i], status, &to_free);
  }
  free_pages(to_free);
}

void PageCache::page_written_locked(InodePages& owner, const io::BioPage& bp, int status,
                                    std::vector<char*>* to_free) {
  auto* p = static_cast<CachePage*>(bp.cookie);
  if (status < 0 && p->wb_err == 0) p->wb_err = status;
  p->wb_left -= bp.view.length;
  if (p->wb_left > 0) return;  // the rest of the page is in another request
  p->writeback = false;
  if (p->wb_buf != p->data) to_free->push_back(p->wb_buf);  // replaced by a re-dirtying write
  p->wb_buf = nullptr;
  CacheStats::sub(stats_.writeback_pages);
  CacheStats::add(stats_.written_pages);
  if (p->wb_err < 0) {
    // ext4's choice: the page stays clean (not retried forever), the error waits for fsync.
    CacheStats::add(stats_.write_errors);
    if (owner.wb_error == 0) owner.wb_error = p->wb_err;
    p->wb_err = 0;
  }
  bool drop = !p->dirty && (p->drop_after_wb || over_cap());
  p->drop_after_wb = false;
  if (drop) {
    drop_page_locked(owner, owner.pages.find(p->lblk), to_free);
    CacheStats::add(stats_.evictions);
  }
  // Last: once the count reaches zero, forget() may destroy the inode's state (it takes mu
  // first, so it waits for this lock to be released).
  owner.writeback.fetch_sub(1, std::memory_order_acq_rel);
}

void PageCache::wait_idle(InodePages& ip) {
  if (ip.writeback.load(std::memory_order_acquire) == 0) return;
  bdev_.wait_until([&ip] { return ip.writeback.load(std::memory_order_acquire) == 0; });
}

void PageCache::after_dirty() {
  if (opts_.write == WriteStrategy::kSync) return;
  if (throttle_.wake_flusher(CacheStats::get(stats_.dirty_pages))) flusher_->kick();
}

void PageCache::invalidate(uint64_t ino, uint64_t first, uint64_t last) {
  auto ip = get(ino, false);
  if (!ip) return;
  std::vector<char*> to_free;
  for (;;) {
    wait_idle(*ip);
    base::MutexLock lk(ip->mu);
    bool busy = false;
    for (auto it = ip->pages.lower_bound(first); it != ip->pages.end() && it->first <= last; ++it)
      if (it->second->writeback) busy = true;
    if (busy) continue;  // the flusher started a write meanwhile: wait for it too
    for (auto it = ip->pages.lower_bound(first); it != ip->pages.end() && it->first <= last;) {
      auto next = std::next(it);
      drop_page_locked(*ip, it, &to_free);
      CacheStats::add(stats_.invalidated);
      it = next;
    }
    ip->stream.forget(first, last);
    ip->readahead.reset();
    break;
  }
  free_pages(to_free);
}

void PageCache::forget(uint64_t ino) {
  auto ip = get(ino, false);
  if (!ip) return;
  invalidate(ino, 0, UINT64_MAX);
  release_write_gang(*ip);
  {
    base::MutexLock wl(ip->wb_mu);
    ip->chain.reset();  // waits for its requests (none: nothing of ino is under writeback)
  }
  wait_idle(*ip);
  { base::MutexLock lk(ip->mu); }  // a completion that just dropped the count has left mu
  base::MutexLock lk(table_mu_);
  table_.erase(ino);
  dirty_.erase(ino);
}

void PageCache::remap(uint64_t ino, uint64_t lblk, uint64_t new_phys) {
  auto ip = get(ino, false);
  if (!ip) return;
  for (;;) {
    wait_idle(*ip);
    base::MutexLock lk(ip->mu);
    auto it = ip->pages.find(lblk);
    if (it == ip->pages.end()) return;
    CachePage* p = it->second.get();
    if (p->writeback) continue;
    p->phys = new_phys;
    mark_dirty_locked(*ip, *p);
    ip->stream.forget(lblk, lblk);
    return;
  }
}

}  // namespace chainfs::cache
