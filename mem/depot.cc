#include "mem/depot.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "base/log.h"

namespace chainfs::mem {

namespace {
// A failed arena mapping is reported once until one succeeds again: callers retry after
// reclaiming, and each retry would repeat the same line.
std::atomic<bool> g_map_failure_reported{false};
}  // namespace

bool Depot::grow(size_t pages) {
  size_t bytes = std::max(arena_bytes_, pages * kBlockSize);
  auto arena = Arena::map(bytes);
  if (!arena) {
    if (!g_map_failure_reported.exchange(true, std::memory_order_relaxed))
      base::log(base::LogLevel::kWarning, "page pool: cannot map an arena of " + std::to_string(bytes >> 20) +
                                              " MiB; waiting for pages to be freed");
    return false;
  }
  g_map_failure_reported.store(false, std::memory_order_relaxed);
  free_ += arena->free_count();
  mapped_ += arena->page_count();
  auto pos = std::upper_bound(arenas_.begin(), arenas_.end(), arena->base(),
                              [](char* b, const std::unique_ptr<Arena>& a) { return b < a->base(); });
  arenas_.insert(pos, std::move(arena));
  return true;
}

Arena* Depot::find(const void* page) {
  if (last_put_ && last_put_->contains(page)) return last_put_;
  auto* p = static_cast<const char*>(page);
  auto pos = std::upper_bound(arenas_.begin(), arenas_.end(), p,
                              [](const char* b, const std::unique_ptr<Arena>& a) { return b < a->base(); });
  if (pos == arenas_.begin()) return nullptr;
  Arena* a = std::prev(pos)->get();
  return a->contains(page) ? a : nullptr;
}

bool Depot::take(size_t n, void** out) {
  while (free_ < n) {
    if (!grow(n - free_)) return false;
  }
  size_t got = 0;
  for (auto& a : arenas_) {
    if (got == n) break;
    if (a->free_count()) got += a->take(n - got, out + got);
  }
  free_ -= got;
  return true;
}

char* Depot::take_run(size_t n) {
  for (auto& a : arenas_) {
    if (a->free_count() < n) continue;
    if (char* p = a->take_run(n)) {
      free_ -= n;
      return p;
    }
  }
  if (free_ >= n || !grow(n)) return nullptr;
  return take_run(n);
}

void Depot::put(std::span<void* const> pages) {
  for (void* p : pages) {
    Arena* a = find(p);
    if (a && a->put(p)) {
      ++free_;
      last_put_ = a;
    } else {
      ++bad_frees_;
    }
  }
}

size_t count_runs(std::span<void* const> pages) {
  size_t runs = 0;
  const char* prev = nullptr;
  for (void* p : pages) {
    auto* c = static_cast<const char*>(p);
    if (!prev || c != prev + kBlockSize) ++runs;
    prev = c;
  }
  return runs;
}

}  // namespace chainfs::mem
