// PageCache: construction, the inode table, writes and reads. Writeback and completions
// are in writeback.cc, eviction and reclaim in reclaim.cc.
#include "fs/cache/page_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chainfs::cache {

namespace {
// The byte range [lo, hi) of block b that [off, off+len) covers.
inline void block_range(uint64_t b, uint64_t off, size_t len, uint64_t* lo, uint64_t* hi) {
  *lo = std::max(off, b * kBlockSize);
  *hi = std::min<uint64_t>(off + len, (b + 1) * kBlockSize);
}
}  // namespace

PageCache::PageCache(io::BioDevice& bdev, mem::PagePool& pool, CacheOptions opts)
    : bdev_(bdev),
      pool_(pool),
      opts_(std::move(opts)),
      bio_pool_(bdev, std::max(opts_.bio_requests, 2u)),
      throttle_(opts_.dirty_limit_bytes, pool.options().byte_cap / kBlockSize, kBlockSize) {
  max_req_pages_ = std::max<uint64_t>(io::effective_max_request(bdev.limits()) / kBlockSize, 1);
  cap_pages_ = pool.options().byte_cap / kBlockSize;
  // Under a cap, one call never holds more than a quarter of it in pages not yet in the cache,
  // so that a few threads together still leave room for reclaim to make progress.
  chunk_ = cap_pages_ ? std::clamp<uint64_t>(cap_pages_ / 4, 1, 1024) : 1024;
  write_gang_ = chunk_ >= kWriteGang ? kWriteGang : 0;
  pool_.set_reclaim_hook([this](size_t want) { reclaim(want); });
  flusher_ = std::make_unique<Flusher>(
      [this](Trigger why) {
        // Nothing dirty and nothing in flight: a tick costs no inode walk. (In waiter mode the
        // wait inside writeback_all is also what completes earlier streaming writes.)
        if (CacheStats::get(stats_.dirty_pages) == 0 && CacheStats::get(stats_.writeback_pages) == 0) return;
        writeback_all(true, why);
      },
      opts_.flush_interval_ms);
}

PageCache::~PageCache() {
  flusher_.reset();
  writeback_all(true, Trigger::kSyncAll);
  pool_.set_reclaim_hook({});
  all_chain_.reset();
  std::vector<char*> bufs;
  for (auto& ip : all_inodes()) {
    wait_idle(*ip);
    base::MutexLock wl(ip->wb_mu);
    ip->chain.reset();
    release_write_gang(*ip);
    base::MutexLock lk(ip->mu);
    while (!ip->pages.empty()) drop_page_locked(*ip, ip->pages.begin(), &bufs);
  }
  free_pages(bufs);
  base::MutexLock lk(table_mu_);
  table_.clear();
  dirty_.clear();
}

namespace {
// The inodes of one of the cache's tables, as references that outlive its lock.
std::vector<std::shared_ptr<InodePages>> values_of(
    const std::unordered_map<uint64_t, std::shared_ptr<InodePages>>& table) {
  std::vector<std::shared_ptr<InodePages>> v;
  v.reserve(table.size());
  for (const auto& [ino, ip] : table) v.push_back(ip);
  return v;
}
}  // namespace

std::shared_ptr<InodePages> PageCache::get(uint64_t ino, bool create) {
  base::MutexLock lk(table_mu_);
  auto it = table_.find(ino);
  if (it != table_.end()) return it->second;
  if (!create) return nullptr;
  auto ip = std::make_shared<InodePages>(ino);
  table_.emplace(ino, ip);
  return ip;
}

std::vector<std::shared_ptr<InodePages>> PageCache::dirty_inodes() {
  base::MutexLock lk(table_mu_);
  return values_of(dirty_);
}

void PageCache::note_dirty_locked(InodePages& ip) {
  if (ip.listed) return;
  base::MutexLock lk(table_mu_);
  auto it = table_.find(ip.ino);
  if (it == table_.end() || it->second.get() != &ip) return;  // being forgotten
  dirty_.emplace(ip.ino, it->second);
  ip.listed = true;
}

void PageCache::prune_dirty(const std::vector<std::shared_ptr<InodePages>>& inodes) {
  for (const auto& ip : inodes) {
    // Under ip->mu, as note_dirty_locked(): a page dirtied after this check lists it again.
    base::MutexLock lk(ip->mu);
    if (!ip->listed || ip->dirty || ip->writeback.load(std::memory_order_acquire)) continue;
    ip->listed = false;
    base::MutexLock tl(table_mu_);
    if (auto it = dirty_.find(ip->ino); it != dirty_.end() && it->second == ip) dirty_.erase(it);
  }
}

std::vector<std::shared_ptr<InodePages>> PageCache::all_inodes() {
  base::MutexLock lk(table_mu_);
  return values_of(table_);
}

void PageCache::alloc_pages(size_t n, std::vector<char*>* out) {
  if (n == 0) return;
  size_t base = out->size();
  out->resize(base + n);
  if (n <= 2) {
    // Writes arrive a page or two at a time: the per-thread cache is the fast path.
    for (size_t i = 0; i < n; ++i) (*out)[base + i] = static_cast<char*>(pool_.alloc_page());
    return;
  }
  std::vector<void*> v(n);
  pool_.alloc_gang(v);
  for (size_t i = 0; i < n; ++i) (*out)[base + i] = static_cast<char*>(v[i]);
}

void PageCache::alloc_write_pages(InodePages& ip, const std::vector<uint64_t>& need, std::vector<char*>* out) {
  const size_t n = need.size();
  if (n == 0) return;
  bool seq = false;
  std::vector<char*> stale;
  {
    base::MutexLock lk(ip.mu);
    seq = ip.wgang.wants(need, write_gang_);
    if (seq && ip.wgang.take(n, out)) return;
    stale = ip.wgang.release();  // not sequential, or too few left: the rest is of no use
  }
  free_pages(stale);
  if (!seq) {
    alloc_pages(n, out);
    return;
  }
  std::vector<void*> g(write_gang_);
  pool_.alloc_gang(g);  // address order
  std::vector<char*> gang;
  gang.reserve(g.size());
  for (void* v : g) gang.push_back(static_cast<char*>(v));
  out->insert(out->end(), gang.begin(), gang.begin() + static_cast<std::ptrdiff_t>(n));
  std::vector<char*> rest;
  {
    base::MutexLock lk(ip.mu);
    rest = ip.wgang.refill(gang, n);
  }
  free_pages(rest);
}

void PageCache::release_write_gang(InodePages& ip) {
  std::vector<char*> bufs;
  {
    base::MutexLock lk(ip.mu);
    bufs = ip.wgang.release();
  }
  free_pages(bufs);
}

void PageCache::free_pages(std::vector<char*>& bufs) {
  if (bufs.empty()) return;
  if (bufs.size() == 1) {
    pool_.free_page(bufs[0]);
  } else {
    std::vector<void*> v(bufs.begin(), bufs.end());
    pool_.free_gang(v);
  }
  bufs.clear();
}

int PageCache::write(uint64_t ino, uint64_t lblk, uint64_t phys, uint64_t nblocks, uint64_t off, const char* buf,
                     size_t len, bool fresh) {
  if (len == 0 || nblocks == 0) return 0;
  uint64_t b0 = std::max(lblk, off / kBlockSize);
  uint64_t b1 = std::min(lblk + nblocks, (off + len + kBlockSize - 1) / kBlockSize);
  if (b0 >= b1) return 0;
  auto ip = get(ino, true);
  const WriteReq w{lblk, phys, off, buf, len, fresh};
  std::vector<StreamDetector::Run> stream;
  for (uint64_t c = b0; c < b1; c += chunk_) {
    uint64_t c1 = std::min(b1, c + chunk_);
    std::vector<CachePage*> through;
    int r = write_chunk(*ip, w, c, c1, &stream, &through);
    if (r == 0 && !through.empty()) r = write_through(*ip, phys + (c - lblk), through);
    if (r < 0) return r;
    for (auto& [first, last] : stream) writeback_range(*ip, first, last, Trigger::kStream);
    stream.clear();
    after_dirty();
  }
  // Throttle a writer that dirties faster than the flusher cleans (throttle.h): it writes its
  // own file back and waits. The error, if any, stays for fsync.
  if (opts_.write != WriteStrategy::kSync && throttle_.throttle_writer(CacheStats::get(stats_.dirty_pages))) {
    writeback_range(*ip, 0, UINT64_MAX, Trigger::kThreshold);
    wait_idle(*ip);
  }
  return 0;
}

int PageCache::write_chunk(InodePages& ip, const WriteReq& w, uint64_t b0, uint64_t b1,
                           std::vector<StreamDetector::Run>* stream, std::vector<CachePage*>* through) {
  for (;;) {
    WriteBuffers wb = plan_buffers(ip, w, b0, b1);
    if (int r = fill_buffers(ip, w, &wb); r < 0) return r;
    if (copy_in(ip, w, b0, b1, wb, stream, through)) return 0;
    // Redo the chunk; pages already marked for the write-through are kept as they are.
  }
}

PageCache::WriteBuffers PageCache::plan_buffers(InodePages& ip, const WriteReq& w, uint64_t b0, uint64_t b1) {
  // A block needs a buffer when it is not cached, or under writeback and so to be copied; it
  // is read first when it is partial and not fresh.
  WriteBuffers wb;
  base::MutexLock lk(ip.mu);
  auto it = ip.pages.lower_bound(b0);
  for (uint64_t b = b0; b < b1; ++b) {
    while (it != ip.pages.end() && it->first < b) ++it;
    CachePage* p = (it != ip.pages.end() && it->first == b) ? it->second.get() : nullptr;
    if (p && !(p->writeback && p->data == p->wb_buf)) continue;
    uint64_t lo, hi;
    block_range(b, w.off, w.len, &lo, &hi);
    wb.blocks.push_back(b);
    wb.read_first.push_back(!p && !w.fresh && (hi - lo) < kBlockSize);
  }
  return wb;
}

int PageCache::fill_buffers(InodePages& ip, const WriteReq& w, WriteBuffers* wb) {
  // Unlocked: allocation may run reclaim, reads may run completions.
  alloc_write_pages(ip, wb->blocks, &wb->bufs);
  std::vector<std::pair<uint64_t, char*>> reads;
  for (size_t i = 0; i < wb->blocks.size(); ++i)
    if (wb->read_first[i]) reads.push_back({w.phys + (wb->blocks[i] - w.lblk), wb->bufs[i]});
  if (reads.empty()) return 0;
  CacheStats::add(stats_.rmw_reads, reads.size());
  int r = read_blocks(reads);
  if (r < 0) free_pages(wb->bufs);
  return r;
}

bool PageCache::copy_in(InodePages& ip, const WriteReq& w, uint64_t b0, uint64_t b1, const WriteBuffers& wb,
                        std::vector<StreamDetector::Run>* stream, std::vector<CachePage*>* through) {
  // Anything that changed since plan_buffers (a page evicted, a writeback finished) is handled
  // with the buffers at hand, or the chunk is redone: the copy is idempotent.
  const bool track = opts_.write != WriteStrategy::kSync;
  bool retry = false;
  std::vector<char*> unused;
  {
    base::MutexLock lk(ip.mu);
    size_t ni = 0;
    for (uint64_t b = b0; b < b1; ++b) {
      char* spare = nullptr;
      bool spare_read = false;
      if (ni < wb.blocks.size() && wb.blocks[ni] == b) {
        spare = wb.bufs[ni];
        spare_read = wb.read_first[ni];
        ++ni;
      }
      CachePage* p = page_for_write_locked(ip, w, b, spare, spare_read, &unused);
      if (!p) {
        retry = true;
        continue;
      }
      uint64_t lo, hi;
      block_range(b, w.off, w.len, &lo, &hi);
      p->phys = w.phys + (b - w.lblk);
      std::memcpy(p->data + (lo - b * kBlockSize), w.buf + (lo - w.off), hi - lo);
      p->referenced = true;
      if (!track) {
        if (!p->writeback) {  // a sync write of this page still in flight keeps its buffer
          p->writeback = true;
          p->wb_buf = p->data;
          ip.writeback.fetch_add(1, std::memory_order_acq_rel);
          through->push_back(p);
        }
        continue;
      }
      mark_dirty_locked(ip, *p);
      if (!opts_.stream_writeback) continue;
      if (auto run = ip.stream.on_dirty(b, p->phys, max_req_pages_)) stream->push_back(*run);
    }
    if (!retry) ip.wgang.on_write(b0, b1);
  }
  free_pages(unused);
  return !retry;
}

CachePage* PageCache::page_for_write_locked(InodePages& ip, const WriteReq& w, uint64_t b, char* spare,
                                            bool spare_read, std::vector<char*>* unused) {
  uint64_t lo, hi;
  block_range(b, w.off, w.len, &lo, &hi);
  const bool partial = (hi - lo) < kBlockSize;
  auto it = ip.pages.find(b);
  CachePage* p = it != ip.pages.end() ? it->second.get() : nullptr;
  if (!p) {
    // Not cached (or evicted since pass 1): a new page, which needs a buffer holding the
    // block's old content, or a fresh block.
    if (!spare || (partial && !w.fresh && !spare_read)) {
      if (spare) unused->push_back(spare);
      return nullptr;
    }
    if (partial && w.fresh) {  // what the write does not cover of a fresh block is zeros
      std::memset(spare, 0, lo - b * kBlockSize);
      std::memset(spare + (hi - b * kBlockSize), 0, (b + 1) * kBlockSize - hi);
    }
    auto np = std::make_unique<CachePage>();
    np->owner = &ip;
    np->lblk = b;
    np->data = spare;
    p = np.get();
    ip.pages.emplace(b, std::move(np));
    CacheStats::add(stats_.pages);
    return p;
  }
  if (p->writeback && p->data == p->wb_buf) {
    // Re-dirtied during writeback: the device may still be reading p->data.
    if (!spare) return nullptr;
    std::memcpy(spare, p->data, kBlockSize);
    p->data = spare;
    CacheStats::add(stats_.redirtied);
    return p;
  }
  if (spare) unused->push_back(spare);
  return p;
}

void PageCache::mark_dirty_locked(InodePages& ip, CachePage& p) {
  if (p.dirty) return;
  p.dirty = true;
  ++ip.dirty;
  CacheStats::add(stats_.dirty_pages);
  note_dirty_locked(ip);
}

int PageCache::write_through(InodePages& ip, uint64_t phys0, std::vector<CachePage*>& pages) {
  // REQUIRES: pages (contiguous from phys0) were marked writeback by write_chunk, so reclaim
  // leaves them alone while the device reads them.
  std::sort(pages.begin(), pages.end(), [](CachePage* a, CachePage* b) { return a->lblk < b->lblk; });
  for (CachePage* p : pages) {
    p->wb_left = static_cast<uint32_t>(kBlockSize);
    p->wb_err = 0;
  }
  // Requests like any other, counted by the device; each one ends its pages' writeback in its
  // completion, which also wakes whoever waits for them (wait_idle).
  io::BioChain chain(bio_pool_, io::ChainOptions{}, [this, &ip](io::Bio& b, int s) { on_write_through_end(ip, b, s); });
  for (size_t i = 0; i < pages.size(); ++i)
    chain.append({pages[i]->wb_buf, 0, static_cast<uint32_t>(kBlockSize)}, (phys0 + i) * kBlockSize, pages[i]);
  int r = chain.wait();
  CacheStats::add(stats_.sync_writes, chain.submitted());
  return r;
}

void PageCache::on_write_through_end(InodePages& ip, io::Bio& bio, int status) {
  std::vector<char*> to_free;
  {
    base::MutexLock lk(ip.mu);
    for (const io::BioPage& bp : bio.pages()) {
      auto* p = static_cast<CachePage*>(bp.cookie);
      if (status < 0) p->wb_err = status;
      p->wb_left -= bp.view.length;
      if (p->wb_left > 0) continue;  // the rest of the page is in another request
      p->writeback = false;
      if (p->wb_buf != p->data) to_free.push_back(p->wb_buf);
      p->wb_buf = nullptr;
      if (p->wb_err < 0) {
        // The device does not hold this data: do not let the cache pretend it does.
        CacheStats::add(stats_.write_errors);
        drop_page_locked(ip, ip.pages.find(p->lblk), &to_free);
      }
      ip.writeback.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
  free_pages(to_free);
}

int PageCache::read_blocks(std::vector<std::pair<uint64_t, char*>>& blocks) {
  std::sort(blocks.begin(), blocks.end());
  io::ChainOptions co;
  co.op = io::BioOp::kRead;
  co.inline_completion = true;  // nothing but this thread waits for them
  io::BioChain chain(bio_pool_, co);
  for (auto& [pb, buf] : blocks) {
    chain.append({buf, 0, static_cast<uint32_t>(kBlockSize)}, pb * kBlockSize);
    if (opts_.read == ReadStrategy::kPage) chain.submit();
  }
  int r = chain.wait();
  CacheStats::add(stats_.read_requests, chain.submitted());
  return r;
}

int PageCache::read(uint64_t ino, uint64_t lblk, uint64_t phys, uint64_t nblocks, uint64_t off, char* buf,
                    size_t len) {
  if (len == 0 || nblocks == 0) return 0;
  uint64_t b0 = std::max(lblk, off / kBlockSize);
  uint64_t b1 = std::min(lblk + nblocks, (off + len + kBlockSize - 1) / kBlockSize);
  if (b0 >= b1) return 0;
  auto ip = get(ino, true);

  // Readahead (gang only, readahead.h), fetched with the last chunk of this read.
  Readahead::Range ra;
  {
    base::MutexLock lk(ip->mu);
    const uint32_t window = opts_.read == ReadStrategy::kGang ? opts_.readahead_max_pages : 0;
    ra = ip->readahead.on_read(b0, b1, lblk + nblocks, window, chunk_);
  }

  const ReadReq r{lblk, phys, off, buf, len};
  for (uint64_t c0 = b0; c0 < b1; c0 += chunk_) {
    uint64_t c1 = std::min(b1, c0 + chunk_);
    // Cached blocks are copied out; the missing ones (and the readahead, with the last chunk)
    // come from the device, unlocked, and are inserted.
    std::vector<uint64_t> missing = copy_cached(*ip, r, c0, c1, c1 == b1 ? ra : Readahead::Range{});
    if (missing.empty()) continue;
    std::vector<char*> bufs;
    alloc_pages(missing.size(), &bufs);
    std::vector<std::pair<uint64_t, char*>> reads;
    reads.reserve(missing.size());
    for (size_t i = 0; i < missing.size(); ++i) reads.push_back({phys + (missing[i] - lblk), bufs[i]});
    if (int e = read_blocks(reads); e < 0) {
      free_pages(bufs);
      return e;
    }
    insert_read(*ip, r, c0, c1, missing, bufs);
  }
  return 0;
}

std::vector<uint64_t> PageCache::copy_cached(InodePages& ip, const ReadReq& r, uint64_t c0, uint64_t c1,
                                             Readahead::Range ra) {
  std::vector<uint64_t> missing;
  base::MutexLock lk(ip.mu);
  auto it = ip.pages.lower_bound(c0);
  for (uint64_t b = c0; b < c1; ++b) {
    while (it != ip.pages.end() && it->first < b) ++it;
    if (it != ip.pages.end() && it->first == b) {
      CachePage* p = it->second.get();
      uint64_t lo, hi;
      block_range(b, r.off, r.len, &lo, &hi);
      std::memcpy(r.buf + (lo - r.off), p->data + (lo - b * kBlockSize), hi - lo);
      p->referenced = true;
      CacheStats::add(stats_.hits);
    } else {
      missing.push_back(b);
    }
  }
  for (uint64_t b = ra.from; b < ra.to; ++b)
    if (!ip.pages.count(b)) missing.push_back(b);
  return missing;
}

void PageCache::insert_read(InodePages& ip, const ReadReq& r, uint64_t c0, uint64_t c1,
                            const std::vector<uint64_t>& blocks, const std::vector<char*>& bufs) {
  // A page that appeared meanwhile wins (it is newer).
  std::vector<char*> unused;
  {
    base::MutexLock lk(ip.mu);
    for (size_t i = 0; i < blocks.size(); ++i) {
      uint64_t b = blocks[i];
      char* data = bufs[i];
      auto it = ip.pages.find(b);
      bool asked = b >= c0 && b < c1;
      if (it != ip.pages.end()) {
        unused.push_back(data);
        data = it->second->data;
      } else {
        auto np = std::make_unique<CachePage>();
        np->owner = &ip;
        np->lblk = b;
        np->phys = r.phys + (b - r.lblk);
        np->data = data;
        np->referenced = true;  // read ahead pages too: they are about to be read
        ip.pages.emplace(b, std::move(np));
        CacheStats::add(stats_.pages);
      }
      if (asked) {
        uint64_t lo, hi;
        block_range(b, r.off, r.len, &lo, &hi);
        std::memcpy(r.buf + (lo - r.off), data + (lo - b * kBlockSize), hi - lo);
        CacheStats::add(stats_.misses);
      } else {
        CacheStats::add(stats_.readahead_pages);
      }
    }
  }
  free_pages(unused);
}

PageCache::PageState PageCache::page_state(uint64_t ino, uint64_t lblk) {
  PageState s;
  auto ip = get(ino, false);
  if (!ip) return s;
  base::MutexLock lk(ip->mu);
  auto it = ip->pages.find(lblk);
  if (it == ip->pages.end()) return s;
  s.present = true;
  s.dirty = it->second->dirty;
  s.writeback = it->second->writeback;
  s.phys = it->second->phys;
  return s;
}

nlohmann::json PageCache::stats_json() {
  nlohmann::json pool = nlohmann::json::object();
  pool_.stats().visit([&](const char* name, uint64_t v) { pool[name] = v; });
  pool["kind"] = mem::to_string(pool_.options().kind);
  return {
      {"cache", stats_.to_json()},
      {"device", bdev_.stats().to_json()},
      {"pool", pool},
      {"options",
       {{"write_strategy", to_string(opts_.write)},
        {"read_strategy", to_string(opts_.read)},
        {"page_alloc", mem::to_string(pool_.options().kind)},
        {"cache_size", cap_pages_ * kBlockSize},
        {"dirty_limit", throttle_.limit_pages() * kBlockSize},
        {"max_request", max_req_pages_ * kBlockSize},
        {"flush_interval_ms", opts_.flush_interval_ms},
        {"stream_writeback", opts_.stream_writeback}}},
  };
}

}  // namespace chainfs::cache
