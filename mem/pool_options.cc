#include "mem/pool_options.h"

#include <cstdlib>
#include <cstring>

namespace chainfs::mem {

std::optional<PoolKind> parse_page_alloc(std::string_view value) {
  if (value == "malloc") return PoolKind::kMalloc;
  if (value == "percpu") return PoolKind::kPercpu;
  if (value == "gang") return PoolKind::kGang;
  return std::nullopt;
}

const char* to_string(PoolKind kind) {
  switch (kind) {
    case PoolKind::kMalloc: return "malloc";
    case PoolKind::kPercpu: return "percpu";
    case PoolKind::kGang: return "gang";
  }
  return "?";
}

bool force_fallback_from_env() {
  const char* v = std::getenv("CHAINFS_FORCE_COMPOUND_FALLBACK");
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace chainfs::mem
