#pragma once
// PoolOptions: how a PagePool is built, and the mount option that chooses it, declared once
// here (base/option_table.h): `page_alloc=malloc|percpu|gang`.
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "base/option_table.h"

namespace chainfs::mem {

enum class PoolKind {
  kMalloc,  // posix_memalign per page: the baseline the benchmarks compare against
  kPercpu,  // per-thread caches refilled and drained one page at a time
  kGang,    // per-thread caches refilled/drained in gangs, explicit gangs, contiguous compounds
};

struct PoolOptions {
  PoolKind kind = PoolKind::kGang;
  // Cap on the bytes of pages held by users (`-o cache_size=`); 0 = no cap. Pages parked in
  // per-thread caches are not counted: each thread that uses the pool may add up to
  // 2 * gang_pages pages of slack on top of the cap (so the cap never strands pages in an idle
  // thread's cache). When the cap is reached, allocation calls the reclaim hook and waits.
  size_t byte_cap = 0;
  // Pages moved per refill/drain between a thread cache and the depot (kGang; kPercpu uses 1).
  size_t gang_pages = 64;
  // Size of each mmap'd arena (rounded up to 2 MiB, the transparent-huge-page size).
  size_t arena_bytes = size_t{64} << 20;
  // Debug switch: every alloc_compound() takes the scatter-list fallback, one iovec per page.
  // make_page_pool() also turns it on when CHAINFS_FORCE_COMPOUND_FALLBACK=1 is in the environment.
  bool force_fallback = false;
};

// The values of page_alloc=, in --help order.
std::span<const base::Choice<PoolKind>> pool_kinds();
// page_alloc=.
const base::OptionTable<PoolOptions>& pool_option_table();
// "malloc" | "percpu" | "gang" -> kind; anything else -> nullopt.
std::optional<PoolKind> parse_page_alloc(std::string_view value);
// The option spelling of a kind ("gang", ...).
const char* to_string(PoolKind kind);
// True when CHAINFS_FORCE_COMPOUND_FALLBACK is set to a value other than "" or "0".
bool force_fallback_from_env();

}  // namespace chainfs::mem
