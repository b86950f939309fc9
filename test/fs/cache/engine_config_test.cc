#include "fs/cache/engine_config.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <map>
#include <string>

using namespace chainfs;

namespace {
int set(cache::EngineConfig& c, std::string_view key, std::string_view value, std::string* err) {
  return base::set_option(cache::engine_config_table(), c, key, value, err);
}
}  // namespace

TEST_CASE("the engine's options take their documented values and defaults") {
  cache::EngineConfig c;
  CHECK(c.cache.write == cache::WriteStrategy::kChain);
  CHECK(c.cache.read == cache::ReadStrategy::kGang);
  CHECK(c.io.completion == io::CompletionMode::kThread);
  CHECK(c.io.nbd_timeout_s == 30);
  CHECK(c.pool.kind == mem::PoolKind::kGang);
  CHECK(c.pool.byte_cap == cache::kDefaultCacheBytes);
  CHECK(c.io_options().async);
  std::string err;
  CHECK(set(c, "write_strategy", "sync", &err) == 0);
  CHECK(c.cache.write == cache::WriteStrategy::kSync);
  CHECK_FALSE(c.io_options().async);  // the synchronous baseline runs over a SyncDevice
  CHECK(set(c, "write_strategy", "page", &err) == 0);
  CHECK(c.cache.write == cache::WriteStrategy::kPage);
  CHECK(set(c, "completion", "waiter", &err) == 0);
  CHECK(c.io.completion == io::CompletionMode::kWaiter);
  CHECK(set(c, "completion", "inline", &err) == 0);
  CHECK(c.io.completion == io::CompletionMode::kInline);
  CHECK(set(c, "page_alloc", "percpu", &err) == 0);
  CHECK(c.pool.kind == mem::PoolKind::kPercpu);
  CHECK(set(c, "page_alloc", "malloc", &err) == 0);
  CHECK(c.pool.kind == mem::PoolKind::kMalloc);
  CHECK(set(c, "read_strategy", "page", &err) == 0);
  CHECK(c.cache.read == cache::ReadStrategy::kPage);
  CHECK(set(c, "cache_size", "512M", &err) == 0);
  CHECK(c.pool.byte_cap == 512ull << 20);
  CHECK(set(c, "nbd_timeout", "7", &err) == 0);
  CHECK(c.io.nbd_timeout_s == 7);
}

TEST_CASE("bad engine option values are refused with one line naming the choices") {
  cache::EngineConfig c;
  std::string err;
  CHECK(set(c, "write_strategy", "fast", &err) == -EINVAL);
  CHECK(err == "bad value in -o write_strategy=fast: expected sync|page|chain");
  CHECK(c.cache.write == cache::WriteStrategy::kChain);
  CHECK(set(c, "completion", "later", &err) == -EINVAL);
  // The lower layers' options, lifted in, name the values those layers declare.
  CHECK(err == "bad value in -o completion=later: expected " + base::choice_list(io::completion_modes()));
  CHECK(set(c, "page_alloc", "Gang", &err) == -EINVAL);
  CHECK(err == "bad value in -o page_alloc=Gang: expected " + base::choice_list(mem::pool_kinds()));
  CHECK(set(c, "cache_size", "lots", &err) == -EINVAL);
  CHECK(err == "bad value in -o cache_size=lots: expected a size such as 256M or 2G");
  CHECK(set(c, "cache_size", "0", &err) == -EINVAL);
  CHECK(set(c, "nbd_timeout", "0", &err) == -EINVAL);
  CHECK(err == "bad value in -o nbd_timeout=0: expected seconds, 1 to 3600");
  CHECK(set(c, "cache", "direct", &err) == -ENOENT);  // the request layer's
  CHECK(err.find('\n') == std::string::npos);
}

TEST_CASE("the statistics echo the strategies, the completion mode, the allocator and the cache size") {
  cache::EngineConfig c;
  std::string err;
  REQUIRE(base::set_option(cache::engine_config_table(), c, "read_strategy", "page", &err) == 0);
  std::map<std::string, std::string> text;
  std::map<std::string, uint64_t> number;
  base::for_each_echo(cache::engine_config_table(), c, [&](const std::string& k, const auto& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, uint64_t>) number[k] = v;
    else text[k] = v;
  });
  CHECK(text == std::map<std::string, std::string>{
                    {"write_strategy", "chain"}, {"read_strategy", "page"}, {"completion", "thread"}, {"page_alloc", "gang"}});
  CHECK(number == std::map<std::string, uint64_t>{{"cache_size", cache::kDefaultCacheBytes}});
}

TEST_CASE("--help lists every engine option with its values and default") {
  const std::string help = base::option_help(cache::engine_config_table());
  CHECK(help.find("    -o write_strategy=sync|page|chain  device write path (default chain)\n") != std::string::npos);
  CHECK(help.find("    -o completion=" + base::choice_list(io::completion_modes()) +
                  "  where I/O completion work runs (default thread)\n") != std::string::npos);
  CHECK(help.find("-o page_alloc=malloc|percpu|gang") != std::string::npos);
  CHECK(help.find("-o read_strategy=page|gang") != std::string::npos);
  CHECK(help.find("-o cache_size=SIZE") != std::string::npos);
  CHECK(help.find("-o nbd_timeout=SECS") != std::string::npos);
  CHECK(help.find("(default 30)") != std::string::npos);
}
