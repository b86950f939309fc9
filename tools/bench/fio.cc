#include "tools/bench/fio.h"

#include <cerrno>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/bench/system.h"

namespace chainfs::bench {

std::string find_fio() { return find_program("fio", {}); }

int run_fio_workload(const std::string& fio, const std::string& w, const std::string& dir, const std::string& device,
                     const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  bool write = w == "fio-seq-write-1m";
  if (!write && w != "fio-rand-read-4k") {
    *why = "unknown fio workload " + w;
    return -EINVAL;
  }
  uint64_t size_mib = std::max<uint64_t>(p.size >> 20, 1);
  int runtime = std::max(1, int(std::ceil(p.runtime)));
  std::vector<std::string> argv{fio, "--output-format=json", "--name=bench", "--numjobs=1",
                                fmt::format("--size={}M", size_mib), fmt::format("--runtime={}", runtime)};
  if (device.empty()) {
    // The read uses the file our seq-write-1m wrote (cold, like seq-read-1m).
    argv.push_back("--filename=" + dir + (write ? "/fio-seq.dat" : "/seq1m.dat"));
    argv.push_back("--ioengine=psync");
  } else {
    // Area B, where the raw seq-write-1m wrote.
    argv.push_back("--filename=" + device);
    argv.push_back(fmt::format("--offset={}", p.size));
    argv.insert(argv.end(), {"--ioengine=io_uring", "--direct=1", "--iodepth=32"});
  }
  if (write) argv.insert(argv.end(), {"--rw=write", "--bs=1M", "--end_fsync=1"});
  else argv.insert(argv.end(), {"--rw=randread", "--bs=4k", "--time_based"});
  m.start();
  CommandResult r = run_command(argv, runtime + 120);
  check_stop();
  if (r.status != 0) {
    *why = fmt::format("fio failed ({}): {}", r.status, r.out.substr(0, 300));
    return -EIO;
  }
  m.stop(s);
  // fio prints notes before the JSON on some errors; parse from the first brace.
  size_t brace = r.out.find('{');
  nlohmann::json j = nlohmann::json::parse(brace == std::string::npos ? "" : r.out.substr(brace), nullptr, false);
  if (j.is_discarded() || !j.contains("jobs") || j["jobs"].empty()) {
    *why = "fio printed no JSON report";
    return -EIO;
  }
  const nlohmann::json& d = j["jobs"][0][write ? "write" : "read"];
  s->bytes = d.value("io_bytes", uint64_t{0});
  s->ops = d.value("total_ios", uint64_t{0});
  double ms = d.value("runtime", 0.0);
  if (s->bytes == 0 || ms <= 0) {
    *why = "fio moved no data";
    return -EIO;
  }
  // fio's own runtime: the bench's clock would also count its start-up and file layout.
  s->seconds = ms / 1000.0;
  return 0;
}

}  // namespace chainfs::bench
