#include "fs/fuse/options.h"

#include <doctest/doctest.h>

#include <cerrno>

using namespace chainfs::fuse;

TEST_CASE("strategy options take their documented values and defaults") {
  Options o;
  CHECK(o.write_strategy == WriteStrategy::kChain);
  CHECK(o.completion == Completion::kThread);
  CHECK(o.cache == CacheMode::kKernel);
  CHECK(o.page_alloc == PageAlloc::kGang);
  CHECK(o.read_strategy == ReadStrategy::kGang);
  std::string err;
  CHECK(set_option(&o, "write_strategy", "sync", &err) == 0);
  CHECK(o.write_strategy == WriteStrategy::kSync);
  CHECK(set_option(&o, "write_strategy", "page", &err) == 0);
  CHECK(o.write_strategy == WriteStrategy::kPage);
  CHECK(set_option(&o, "completion", "waiter", &err) == 0);
  CHECK(o.completion == Completion::kWaiter);
  CHECK(set_option(&o, "completion", "inline", &err) == 0);
  CHECK(o.completion == Completion::kInline);
  CHECK(set_option(&o, "cache", "direct", &err) == 0);
  CHECK(o.cache == CacheMode::kDirect);
  CHECK(set_option(&o, "page_alloc", "percpu", &err) == 0);
  CHECK(o.page_alloc == PageAlloc::kPercpu);
  CHECK(set_option(&o, "page_alloc", "malloc", &err) == 0);
  CHECK(o.page_alloc == PageAlloc::kMalloc);
  CHECK(set_option(&o, "read_strategy", "page", &err) == 0);
  CHECK(o.read_strategy == ReadStrategy::kPage);
  CHECK(set_option(&o, "cache_size", "512M", &err) == 0);
  CHECK(o.cache_size == 512ull << 20);
  CHECK(set_option(&o, "stats", "/tmp/s.json", &err) == 0);
  CHECK(o.stats_path == "/tmp/s.json");
  CHECK(set_option(&o, "flush_interval", "30", &err) == 0);
  CHECK(o.flush_interval_s == 30);
  CHECK(o.nbd_timeout_s == 30);  // the default
  CHECK(set_option(&o, "nbd_timeout", "7", &err) == 0);
  CHECK(o.nbd_timeout_s == 7);
  CHECK_FALSE(o.compound_fallback);
  CHECK(set_option(&o, "compound_fallback", "", &err) == 0);
  CHECK(o.compound_fallback);
  CHECK(set_option(&o, "compound_fallback", "1", &err) == -EINVAL);
  CHECK(std::string(to_string(o.write_strategy)) == "page");
  CHECK(std::string(to_string(o.cache)) == "direct");
}

TEST_CASE("bad strategy values are refused with one line naming the choices") {
  Options o;
  std::string err;
  CHECK(set_option(&o, "write_strategy", "fast", &err) == -EINVAL);
  CHECK(err == "bad value in -o write_strategy=fast: expected sync|page|chain");
  CHECK(o.write_strategy == WriteStrategy::kChain);
  CHECK(set_option(&o, "cache", "", &err) == -EINVAL);
  CHECK(set_option(&o, "cache_size", "lots", &err) == -EINVAL);
  CHECK(set_option(&o, "cache_size", "0", &err) == -EINVAL);
  CHECK(set_option(&o, "flush_interval", "0", &err) == -EINVAL);
  CHECK(set_option(&o, "flush_interval", "5s", &err) == -EINVAL);
  CHECK(set_option(&o, "nbd_timeout", "0", &err) == -EINVAL);
  CHECK(err == "bad value in -o nbd_timeout=0: expected seconds, 1 to 3600");
  CHECK(set_option(&o, "stats", "", &err) == -EINVAL);
  CHECK(set_option(&o, "colour", "red", &err) == -ENOENT);
  CHECK(err.find('\n') == std::string::npos);
}

TEST_CASE("parse_size understands binary suffixes and rejects junk") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("64K") == 65536u);
  CHECK(parse_size("2G") == (2ull << 30));
  CHECK(parse_size("1GiB") == (1ull << 30));
  CHECK(parse_size("3MB") == (3ull << 20));
  CHECK(parse_size("1T") == (1ull << 40));
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("M"));
  CHECK_FALSE(parse_size("12X"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("99999999999999T"));
}

TEST_CASE("transport= and readahead= take their documented values") {
  Options o;
  std::string err;
  CHECK(o.transport == TransportKind::kDev);
  CHECK(o.readahead == 4u << 20);
  CHECK_FALSE(o.readahead_given);
  CHECK(set_option(&o, "transport", "uring", &err) == 0);
  CHECK(o.transport == TransportKind::kUring);
  CHECK(std::string(to_string(o.transport)) == "uring");
  CHECK(set_option(&o, "transport", "dev", &err) == 0);
  CHECK(o.transport == TransportKind::kDev);
  CHECK(set_option(&o, "transport", "ring", &err) == -EINVAL);
  CHECK(err.find("dev|uring") != std::string::npos);
  CHECK(set_option(&o, "readahead", "4M", &err) == 0);
  CHECK(o.readahead == 4u << 20);
  CHECK(o.readahead_given);
  CHECK(set_option(&o, "readahead", "0", &err) == 0);
  CHECK(o.readahead == 0);
  CHECK(set_option(&o, "readahead", "2G", &err) == -EINVAL);
  CHECK(set_option(&o, "readahead", "x", &err) == -EINVAL);
}
