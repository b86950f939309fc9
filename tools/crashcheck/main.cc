// chainfs-crashcheck: crash-consistency checking of chainfs (a test tool; see README.md).
//
//   chainfs-crashcheck memory   [--seed S]... [--ops N] [--states M] [--index I --write-image F]
//   chainfs-crashcheck replay   --image START --log LOG --record REC [--seed S] [--states M]
//                               [--index I --write-image F]
//   chainfs-crashcheck workload --root MNT --record REC [--log LOG] [--seed S] [--ops N]
//   chainfs-crashcheck verify   --root MNT --record REC
//
// Exit status: 0 every state (or the mounted tree) passed, 1 some failed, 2 usage or
// operational error.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/recording_device.h"
#include "tools/common/cli.h"
#include "tools/crashcheck/memory_run.h"
#include "tools/crashcheck/posix_access.h"
#include "tools/crashcheck/replay.h"
#include "tools/crashcheck/verify.h"
#include "tools/crashcheck/workload.h"

namespace {

using namespace chainfs;
using namespace chainfs::crashcheck;

constexpr const char* kProg = "chainfs-crashcheck";
constexpr int kFailed = 1, kError = 2;

int error(const std::string& m) {
  cli::error_line(kProg, m);
  return kError;
}

bool read_image(const std::string& path, std::vector<char>* out, std::string* msg) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *msg = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

struct ReplayArgs {
  uint64_t states = 1000;
  int64_t index = -1;
  std::string write_image;
  bool quiet = false;
  size_t list = 20;
};

void add_replay_args(CLI::App* c, ReplayArgs* a) {
  c->add_option("--states", a->states, "about this many crash states per seed")->capture_default_str();
  c->add_option("--index", a->index, "build and check only state INDEX (as printed for a failure)");
  c->add_option("--write-image", a->write_image, "with --index: write that state's image to this file");
  c->add_option("--list", a->list, "failing states described in full")->capture_default_str();
  c->add_flag("-q,--quiet", a->quiet, "no progress line");
}

ReplayOptions replay_options(const ReplayArgs& a, uint64_t seed) {
  ReplayOptions o;
  o.seed = seed;
  o.states = a.states;
  o.only_index = a.index;
  o.write_image = a.write_image;
  o.list_failures = a.list;
  if (!a.quiet && isatty(2))
    o.progress = [](uint64_t done, uint64_t total) {
      if (done % 50 == 0 || done == total) fmt::print(stderr, "\r{}/{} states", done, total);
      if (done == total) std::fputc('\n', stderr);
    };
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // The mounts of crash states log what they recover and refuse; the summary says it all.
  spdlog::set_level(spdlog::level::off);
  CLI::App app{"chainfs-crashcheck: crash states from a write log, checked with mount, fsck and a durability record"};
  app.set_version_flag("--version", cli::version_text(kProg));
  app.require_subcommand(1);

  std::vector<uint64_t> seeds{1};
  uint32_t ops = 200, names = WorkloadOptions{}.names, max_file = WorkloadOptions{}.max_file;
  ReplayArgs ra;
  std::string image, log_path, record_path, root, base;

  CLI::App* mem = app.add_subcommand("memory", "record a seeded workload on a memory device and replay it (unit level)");
  mem->add_option("--seed", seeds, "workload and state seeds (repeat for several)")->capture_default_str();
  mem->add_option("--ops", ops, "workload operations")->capture_default_str();
  mem->add_option("--names", names, "file names per directory")->capture_default_str();
  mem->add_option("--max-file", max_file, "largest file size, bytes")->capture_default_str();
  std::string save;
  mem->add_option("--save", save, "also write PREFIX-SEED.{start,log,json} (image, log, record) for replay");
  add_replay_args(mem, &ra);

  CLI::App* rep = app.add_subcommand("replay", "replay a daemon's write log against its starting image");
  rep->add_option("--image", image, "the image as it was before the recorded mount")->required();
  rep->add_option("--log", log_path, "the write log (CHAINFS_RECORD_LOG of the daemon)")->required();
  rep->add_option("--record", record_path, "the workload's durability record (JSON)")->required();
  rep->add_option("--seed", seeds, "state seeds (repeat for several)")->capture_default_str();
  add_replay_args(rep, &ra);

  CLI::App* wl = app.add_subcommand("workload", "run the seeded workload with system calls on a mounted chainfs");
  wl->add_option("--root", root, "the mount point")->required();
  wl->add_option("--base", base, "an existing empty directory under it to work in (default: the root, empty)");
  wl->add_option("--record", record_path, "where to write the durability record")->required();
  wl->add_option("--log", log_path, "the daemon's write log (positions are its size)");
  wl->add_option("--seed", seeds, "workload seed")->capture_default_str();
  wl->add_option("--ops", ops, "workload operations")->capture_default_str();
  wl->add_option("--names", names, "file names per directory")->capture_default_str();
  wl->add_option("--max-file", max_file, "largest file size, bytes")->capture_default_str();

  CLI::App* ver = app.add_subcommand("verify", "check a mounted chainfs (after a crash and remount) against a record");
  ver->add_option("--root", root, "the mount point")->required();
  ver->add_option("--record", record_path, "the durability record")->required();

  CLI11_PARSE(app, argc, argv);
  if (ra.index < 0 && !ra.write_image.empty()) return error("--write-image needs --index");

  if (*mem || *rep) {
    std::vector<char> start;
    std::vector<io::LogEntry> entries;
    DurabilityRecord rec;
    std::string msg;
    if (*rep) {
      if (!read_image(image, &start, &msg)) return error(msg);
      io::WriteLogFile f;
      if (int r = io::read_write_log(log_path, &f, &msg); r < 0)
        return error(msg.empty() ? "cannot read " + log_path + ": " + std::strerror(-r) : msg);
      if (f.device_size != start.size())
        return error(fmt::format("{} is {} bytes, the log's device {}", image, start.size(), f.device_size));
      if (f.torn_tail) std::printf("log: the last record is torn (ignored)\n");
      entries = std::move(f.entries);
      if (int r = load_record(record_path, &rec, &msg); r < 0)
        return error(msg.empty() ? "cannot read " + record_path + ": " + std::strerror(-r) : msg);
    }
    bool all_good = true;
    for (uint64_t seed : seeds) {
      if (*mem) {
        MemoryRunOptions mo;
        mo.workload.seed = seed;
        mo.workload.ops = ops;
        mo.workload.names = names;
        mo.workload.max_file = max_file;
        std::string prefix = save.empty() ? std::string() : fmt::format("{}-{}", save, seed);
        if (!prefix.empty()) mo.log_path = prefix + ".log";
        MemoryRun run;
        if (int r = record_memory_run(mo, &run, &msg); r < 0) return error(msg);
        if (!prefix.empty()) {
          std::ofstream img(prefix + ".start", std::ios::binary);
          img.write(run.start_image.data(), static_cast<std::streamsize>(run.start_image.size()));
          if (!img || save_record(run.record, prefix + ".json") < 0) return error("cannot write " + prefix + ".*");
        }
        if (run.workload_status < 0) return error("workload: " + run.record.stopped);
        start = std::move(run.start_image);
        entries = std::move(run.log);
        rec = std::move(run.record);
      }
      ReplaySummary s;
      if (int r = replay(start, entries, rec, replay_options(ra, seed), &s, &msg); r < 0) return error(msg);
      std::fputs(s.text().c_str(), stdout);
      std::fflush(stdout);
      all_good &= s.all_good();
    }
    return all_good ? 0 : kFailed;
  }

  if (*wl) {
    PosixTarget t(base.empty() ? root : root + "/" + base, log_path);
    DurabilityRecord rec;
    rec.base = base;
    if (!log_path.empty()) rec.pos_unit = "bytes";
    WorkloadOptions wo;
    wo.seed = seeds.front();
    wo.ops = ops;
    wo.names = names;
    wo.max_file = max_file;
    wo.sync_is_durable = false;  // syncfs(2) does not reach the daemon (workload.h)
    int r = run_workload(t, wo, &rec);
    if (int e = save_record(rec, record_path); e < 0)
      return error("cannot write " + record_path + ": " + std::strerror(-e));
    if (r < 0) return error("workload stopped: " + rec.stopped);
    std::printf("%zu operations, %zu events\n", rec.ops.size(), rec.events.size());
    return 0;
  }

  DurabilityRecord rec;
  std::string msg;
  if (int r = load_record(record_path, &rec, &msg); r < 0)
    return error(msg.empty() ? "cannot read " + record_path + ": " + std::strerror(-r) : msg);
  PosixView view(rec.base.empty() ? root : root + "/" + rec.base);
  CheckCounts counts;
  auto fails = Verifier(rec).check(view, kNoCut, &counts);
  fmt::print("durability checks: {} (not checkable: {}), failures: {}\n", counts.checked, counts.unchecked,
             fails.size());
  for (const auto& f : fails) std::printf("  %s\n", f.text.c_str());
  return fails.empty() ? 0 : kFailed;
}
