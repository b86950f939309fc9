#include "mem/pool_options.h"

#include <cstdlib>
#include <cstring>

namespace chainfs::mem {

namespace {
constexpr base::Choice<PoolKind> kKinds[] = {
    {"malloc", PoolKind::kMalloc}, {"percpu", PoolKind::kPercpu}, {"gang", PoolKind::kGang}};
}  // namespace

std::span<const base::Choice<PoolKind>> pool_kinds() { return kKinds; }

const base::OptionTable<PoolOptions>& pool_option_table() {
  static const base::OptionTable<PoolOptions> table = [] {
    base::OptionTable<PoolOptions> t;
    t.push_back(base::choice_option("page_alloc", &PoolOptions::kind, pool_kinds(),
                                    "page buffer allocator (default {default})"));
    t.back().echo = true;
    return t;
  }();
  return table;
}

std::optional<PoolKind> parse_page_alloc(std::string_view value) { return base::parse_choice(pool_kinds(), value); }

const char* to_string(PoolKind kind) { return base::choice_name(pool_kinds(), kind); }

bool force_fallback_from_env() {
  const char* v = std::getenv("CHAINFS_FORCE_COMPOUND_FALLBACK");
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace chainfs::mem
