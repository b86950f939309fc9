// The statistics document and its file.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "cache_test_util.h"
#include "fs/cache/page_cache.h"
#include "fs/cache/stats_writer.h"
#include "io/mem_device.h"
#include "io/sync_bio_device.h"
#include "mem/page_pool.h"

using namespace chainfs;

namespace {
nlohmann::json load(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}
}  // namespace

TEST_CASE("stats_json joins the device's, the pool's and the cache's counters") {
  io::MemDevice mem(16 << 20);
  io::SyncBioDevice bdev(mem);
  auto pool = mem::make_page_pool();
  cache::CacheOptions o;
  o.flush_interval_ms = 0;
  cache::PageCache c(bdev, *pool, o);
  std::vector<char> buf(3 * 4096, 'j');
  REQUIRE(c.write(1, 0, 10, 3, 0, buf.data(), buf.size(), true) == 0);
  REQUIRE(c.fsync(1) == 0);
  REQUIRE(c.read(1, 0, 10, 3, 0, buf.data(), buf.size()) == 0);
  auto j = c.stats_json();
  CHECK(j["cache"]["hits"] == 3);
  CHECK(j["cache"]["pages"] == 3);
  CHECK(j["cache"]["dirty_pages"] == 0);
  CHECK(j["cache"]["writeback"]["fsync"]["pages"] == 3);
  CHECK(j["cache"]["writeback"]["fsync"]["calls"] == 1);
  CHECK(j["device"].is_object());
  CHECK(j["device"].dump().find("submissions") != std::string::npos);
  CHECK(j["pool"]["pages_in_use"].get<uint64_t>() >= 3);
  CHECK(j["options"]["write_strategy"] == "chain");
  CHECK(j["options"]["page_alloc"] == "gang");
}

TEST_CASE("StatsWriter rewrites the file atomically, periodically and at the end") {
  test::TempImage dir_marker(0);  // a unique name to derive our path from
  std::string path = dir_marker.path() + ".json";
  std::atomic<int> n{0};
  {
    cache::StatsWriter w(path, [&] { return nlohmann::json{{"n", ++n}}; }, 10);
    CHECK(load(path)["n"] == 1);  // written at once
    for (int i = 0; i < 300 && n.load() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(n.load() >= 4);
    auto j = load(path);
    CHECK(j["n"].get<int>() >= 2);
    CHECK(j.contains("updated_unix_ms"));
  }
  // Renamed away, never left behind. (Checked once the writer has stopped: while it runs, a
  // periodic write may be between creating the temporary file and renaming it.)
  struct stat st;
  CHECK(::stat((path + ".tmp").c_str(), &st) != 0);
  CHECK(load(path)["n"] == n.load());  // the final write at destruction is the last one
  ::unlink(path.c_str());
  // An unwritable path reports its error instead of throwing.
  cache::StatsWriter bad("/nonexistent-dir/x.json", [] { return nlohmann::json::object(); }, 0);
  CHECK(bad.last_error() == -ENOENT);
}
