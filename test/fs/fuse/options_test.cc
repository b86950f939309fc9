#include "fs/fuse/options.h"

#include <doctest/doctest.h>

#include <cerrno>

using namespace chainfs::fuse;

TEST_CASE("cache= takes its documented values and default") {
  Options o;
  CHECK(o.cache == CacheMode::kKernel);
  std::string err;
  CHECK(set_option(&o, "cache", "direct", &err) == 0);
  CHECK(o.cache == CacheMode::kDirect);
  CHECK(std::string(to_string(o.cache)) == "direct");
  CHECK(set_option(&o, "cache", "", &err) == -EINVAL);
  CHECK(err == "bad value in -o cache=: expected direct|kernel");
  CHECK(set_option(&o, "colour", "red", &err) == -ENOENT);
  CHECK(set_option(&o, "write_strategy", "sync", &err) == -ENOENT);  // the data engine's
  CHECK(err.find('\n') == std::string::npos);
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
  CHECK(err == "bad value in -o readahead=2G: expected a size up to 1G, such as 1M (0: the kernel's)");
  CHECK(set_option(&o, "readahead", "x", &err) == -EINVAL);
}
