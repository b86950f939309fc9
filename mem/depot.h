#pragma once
// Depot: the shared store of free pages behind the per-thread caches: the arenas, sorted by
// address, grown by a new arena when they run short. Hands pages out in address order so that
// a gang is a few contiguous runs. Not thread-safe: the pool holds its lock around every call,
// so each call is one lock acquisition for a whole gang.
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "mem/arena.h"

namespace chainfs::mem {

class Depot {
 public:
  explicit Depot(size_t arena_bytes) : arena_bytes_(arena_bytes) {}

  size_t free_pages() const { return free_; }
  size_t mapped_pages() const { return mapped_; }
  size_t arena_count() const { return arenas_.size(); }

  // Takes exactly `n` pages into `out`, lowest addresses first, mapping arenas when short;
  // false (nothing taken) when mmap fails.
  bool take(size_t n, void** out);
  // Takes one contiguous run of `n` pages; maps a new arena for it only when the free pages
  // could not cover `n` anyway. nullptr when there is no such run.
  char* take_run(size_t n);
  // Gives pages back; pages not from this depot and double frees are ignored (counted).
  void put(std::span<void* const> pages);
  void put(void* page) { put(std::span<void* const>(&page, 1)); }
  size_t bad_frees() const { return bad_frees_; }

 private:
  bool grow(size_t pages);  // maps one arena of at least `pages` pages
  Arena* find(const void* page);

  size_t arena_bytes_;
  std::vector<std::unique_ptr<Arena>> arenas_;  // sorted by base address
  Arena* last_put_ = nullptr;                   // frees come in runs from the same arena
  size_t free_ = 0;
  size_t mapped_ = 0;
  size_t bad_frees_ = 0;
};

// Counts the contiguous runs in an address-ordered page list.
size_t count_runs(std::span<void* const> pages);

}  // namespace chainfs::mem
