#include "mem/page_pool.h"

#include "mem/gang_pool.h"
#include "mem/malloc_pool.h"

namespace chainfs::mem {

std::unique_ptr<PagePool> make_page_pool(PoolOptions options) {
  if (force_fallback_from_env()) options.force_fallback = true;
  if (options.kind == PoolKind::kMalloc) return std::make_unique<MallocPool>(options);
  return std::make_unique<GangPool>(options);
}

}  // namespace chainfs::mem
