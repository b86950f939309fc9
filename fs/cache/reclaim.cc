// PageCache: the cache size cap. The pool calls reclaim() when an allocation would pass its
// byte cap; clean pages are evicted with CLOCK (a page touched since the last sweep gets a
// second chance), and when that is not enough every dirty page is written back and dropped
// when its write completes.
#include <algorithm>

#include "fs/cache/page_cache.h"

namespace chainfs::cache {

bool PageCache::over_cap() const {
  return cap_pages_ && CacheStats::get(stats_.pages) > cap_pages_ - cap_pages_ / 8;
}

size_t PageCache::evict(size_t want) {
  base::MutexLock rl(reclaim_mu_);
  size_t freed = 0;
  auto inodes = all_inodes();
  std::vector<char*> to_free;
  // Two sweeps: the first clears referenced bits it meets, the second takes those pages too.
  for (int sweep = 0; sweep < 2 && freed < want; ++sweep) {
    for (auto& ip : inodes) {
      base::MutexLock lk(ip->mu);
      for (auto it = ip->pages.begin(); it != ip->pages.end() && freed < want;) {
        CachePage* p = it->second.get();
        auto next = std::next(it);
        if (p->busy()) {
          // dirty or under writeback: not evictable
        } else if (p->referenced) {
          p->referenced = false;
        } else {
          drop_page_locked(*ip, it, &to_free);
          CacheStats::add(stats_.evictions);
          ++freed;
        }
        it = next;
      }
      if (freed >= want) break;
    }
  }
  free_pages(to_free);
  return freed;
}

void PageCache::reclaim(size_t want) {
  want = std::max<size_t>(want, 1);
  size_t freed = evict(want);
  if (freed >= want) return;
  for (auto& ip : all_inodes()) release_write_gang(*ip);
  writeback_all(true, Trigger::kReclaim);
  evict(want - freed);
}

}  // namespace chainfs::cache
