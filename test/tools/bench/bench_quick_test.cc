// chainfs-bench --quick end to end (root: loop device, mounts): the output files exist,
// parse, and hold every requested cell with its figures; nothing is left mounted or
// attached afterwards. Binary paths come from the build (BENCH_BIN, CHAINFS_BIN, MKFS_BIN).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tools/bench/system.h"

using chainfs::bench::run_command;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool exists(const std::string& p) {
  struct stat st{};
  return stat(p.c_str(), &st) == 0 && st.st_size > 0;
}

// Splits one CSV line, honouring double quotes.
std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> out(1);
  bool q = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (q && ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (ch == '"') {
      q = !q;
    } else if (ch == ',' && !q) {
      out.emplace_back();
    } else {
      out.back() += ch;
    }
  }
  return out;
}

struct OutDir {
  std::string path;
  OutDir() {
    char t[] = "/var/tmp/chainfs-bench-test-XXXXXX";
    REQUIRE(mkdtemp(t));
    path = t;
  }
  ~OutDir() { run_command({"rm", "-rf", path}); }
};

}  // namespace

TEST_CASE("chainfs-bench --quick: every requested cell in the table, CSV, JSON and charts") {
  if (geteuid() != 0) FAIL("needs root (loop devices and mounts)");
  OutDir out;
  bool uring_offered = slurp("/sys/module/fuse/parameters/enable_uring").rfind("Y", 0) == 0;
  auto res = run_command({BENCH_BIN, "--quick", "-q", "--out", out.path, "--chainfs", CHAINFS_BIN, "--mkfs", MKFS_BIN},
                         600);
  INFO(res.out);
  REQUIRE(res.status == 0);


  // The expected matrix, spelled out independently of the tool.
  std::vector<std::string> workloads{"seq-write-8k", "seq-write-1m", "rand-write-4k", "seq-read-1m", "rand-read-4k",
                                     "files",        "stat-tree",    "readdir",       "readdir-stat"};
  // The metadata workloads have no form on the raw device.
  std::set<std::string> needs_fs{"files", "stat-tree", "readdir", "readdir-stat"};
  // fio drives every target as well when it is installed.
  bool fio_installed = !chainfs::bench::find_program("fio", {}).empty();
  if (fio_installed) workloads.insert(workloads.end(), {"fio-seq-write-1m", "fio-rand-read-4k"});
  std::set<std::pair<std::string, std::string>> want;
  for (std::string s : {"sync", "page", "chain"})
    for (std::string a : {"malloc", "percpu", "gang"})
      for (std::string c : {"inline", "thread", "waiter"}) {
        std::string t = "engine " + s + "/" + (s == "sync" ? "-" : c) + "/" + a;
        want.insert({t, "engine-write-8k"});
        want.insert({t, "engine-read-128k"});
      }
  std::vector<std::string> targets{"raw", "ext4", "fuse2fs", "chainfs sync/direct", "chainfs page/direct",
                                   "chainfs chain/direct", "chainfs sync/kernel", "chainfs page/kernel",
                                   "chainfs chain/kernel", "chainfs chain/kernel/page-read"};
  // The FUSE-over-io_uring rows, when the kernel offers the ring (read before the run).
  if (uring_offered) targets.insert(targets.end(), {"chainfs chain/direct/uring", "chainfs chain/kernel/uring"});
  for (const std::string& t : targets)
    for (const std::string& w : workloads) want.insert({t, w});
  CHECK(want.size() == 42 + targets.size() * workloads.size());

  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(slurp(out.path + "/bench.json")));
  REQUIRE(j["cells"].is_array());
  CHECK(j["run"]["quick"] == true);
  CHECK(j["run"]["files"] == 500);
  CHECK(j["run"]["entries"] == 2000);

  // Nothing of this run survives it (other runs may be going on): its image is gone and no
  // loop device or bench mount refers to it.
  std::string image = j["run"]["image"], dev = j["run"]["device"];
  REQUIRE_FALSE(image.empty());
  CHECK(access(image.c_str(), F_OK) != 0);
  CHECK(run_command({"losetup", "-a"}).out.find(image) == std::string::npos);
  std::istringstream mounts(slurp("/proc/mounts"));
  for (std::string m; std::getline(mounts, m);)
    CHECK_FALSE((m.rfind(dev + " ", 0) == 0 && m.find("chainfs-bench-mnt") != std::string::npos));
  MESSAGE("quick run took " << j["run"]["seconds"].get<double>() << " s");
  std::set<std::pair<std::string, std::string>> got;
  bool fuse2fs_installed = !chainfs::bench::find_program("fuse2fs", {}).empty();
  for (const auto& c : j["cells"]) {
    std::string target = c["target"], workload = c["workload"], status = c["status"];
    INFO(target << " / " << workload << ": " << status << " " << c.value("reason", ""));
    CHECK(got.insert({target, workload}).second);  // no duplicates
    bool may_skip = (target == "raw" && needs_fs.count(workload)) || (target == "fuse2fs" && !fuse2fs_installed);
    if (may_skip && status == "skipped") {
      CHECK_FALSE(c["reason"].get<std::string>().empty());
      continue;
    }
    REQUIRE(status == "ok");
    REQUIRE(c["reps"].size() == 1);
    const auto& m = c["median"];
    CHECK(m["value"].get<double>() > 0);
    CHECK(m["peak_rss_mib"].get<double>() > 0);
    CHECK(m["cpu_us_per_op"].get<double>() >= 0);
    // Every cell that moves data saw device requests of a plausible size (512 B .. 64 MiB),
    // the cold listings too; stat-tree stats a tree in the caches and need not reach the device.
    if (workload != "files" && workload != "stat-tree") {
      REQUIRE(m["dev_avg_kib"].is_number());
      CHECK(m["dev_avg_kib"].get<double>() >= 0.5);
      CHECK(m["dev_avg_kib"].get<double>() <= 65536);
    }
    if (!needs_fs.count(workload)) CHECK(m["ratio_to_raw"].is_number());  // the others have no raw peer
    if (target == "raw") CHECK(m["ratio_to_raw"].get<double>() == doctest::Approx(1.0));
  }
  CHECK(got == want);

  // The CSV holds the same cells, one row each, with the header's column count.
  std::istringstream csv(slurp(out.path + "/bench.csv"));
  std::string line;
  REQUIRE(std::getline(csv, line));
  auto header = csv_split(line);
  CHECK(header.size() == 16);
  CHECK(header[1] == "target");
  std::set<std::pair<std::string, std::string>> csv_cells;
  while (std::getline(csv, line)) {
    auto f = csv_split(line);
    REQUIRE(f.size() == header.size());
    csv_cells.insert({f[1], f[3]});
    if (f[4] == "ok") CHECK(std::strtod(f[7].c_str(), nullptr) > 0);
  }
  CHECK(csv_cells == want);

  // The charts: gnuplot's script always, the PNGs when gnuplot is installed.
  CHECK(exists(out.path + "/bench.gp"));
  CHECK(exists(out.path + "/bench.dat"));
  if (!chainfs::bench::find_program("gnuplot", {}).empty()) {
    CHECK(exists(out.path + "/bench-throughput.png"));
    CHECK(exists(out.path + "/bench-reqsize.png"));
    CHECK(slurp(out.path + "/bench-throughput.png").substr(1, 3) == "PNG");
  }
  // The table went to the terminal.
  CHECK(res.out.find("chainfs chain/kernel") != std::string::npos);
  CHECK(res.out.find("x raw") != std::string::npos);
}
