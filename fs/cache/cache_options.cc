#include "fs/cache/cache_options.h"

namespace chainfs::cache {

namespace {
constexpr base::Choice<WriteStrategy> kWrite[] = {
    {"sync", WriteStrategy::kSync}, {"page", WriteStrategy::kPage}, {"chain", WriteStrategy::kChain}};
constexpr base::Choice<ReadStrategy> kRead[] = {{"page", ReadStrategy::kPage}, {"gang", ReadStrategy::kGang}};
}  // namespace

std::span<const base::Choice<WriteStrategy>> write_strategies() { return kWrite; }
std::span<const base::Choice<ReadStrategy>> read_strategies() { return kRead; }

const base::OptionTable<CacheOptions>& cache_option_table() {
  static const base::OptionTable<CacheOptions> table = [] {
    base::OptionTable<CacheOptions> t;
    t.push_back(base::choice_option("write_strategy", &CacheOptions::write, write_strategies(),
                                    "device write path (default {default})"));
    t.back().echo = true;
    t.push_back(base::choice_option("read_strategy", &CacheOptions::read, read_strategies(),
                                    "per-page or gang reads (default {default})"));
    t.back().echo = true;
    return t;
  }();
  return table;
}

std::optional<WriteStrategy> parse_write_strategy(std::string_view s) { return base::parse_choice(write_strategies(), s); }
std::optional<ReadStrategy> parse_read_strategy(std::string_view s) { return base::parse_choice(read_strategies(), s); }
const char* to_string(WriteStrategy s) { return base::choice_name(write_strategies(), s); }
const char* to_string(ReadStrategy s) { return base::choice_name(read_strategies(), s); }

}  // namespace chainfs::cache
