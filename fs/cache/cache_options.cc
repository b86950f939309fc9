#include "fs/cache/cache_options.h"

namespace chainfs::cache {

std::optional<WriteStrategy> parse_write_strategy(std::string_view s) {
  if (s == "sync") return WriteStrategy::kSync;
  if (s == "page") return WriteStrategy::kPage;
  if (s == "chain") return WriteStrategy::kChain;
  return std::nullopt;
}

std::optional<ReadStrategy> parse_read_strategy(std::string_view s) {
  if (s == "page") return ReadStrategy::kPage;
  if (s == "gang") return ReadStrategy::kGang;
  return std::nullopt;
}

const char* to_string(WriteStrategy s) {
  switch (s) {
    case WriteStrategy::kSync: return "sync";
    case WriteStrategy::kPage: return "page";
    case WriteStrategy::kChain: return "chain";
  }
  return "?";
}

const char* to_string(ReadStrategy s) {
  switch (s) {
    case ReadStrategy::kPage: return "page";
    case ReadStrategy::kGang: return "gang";
  }
  return "?";
}

}  // namespace chainfs::cache
