// chainfs-bench: compares chainfs's read/write strategies side by side on one block device,
// against the raw device (io_uring, O_DIRECT), kernel ext4 and fuse2fs, in one run.
//   engine level:     the io/ engine alone, every write_strategy x completion x page_alloc;
//   filesystem level: chainfs mounted once per strategy set, driven through system calls;
//   references:       raw device, ext4, fuse2fs (each skipped with a reason when unavailable).
// Figures per cell (medians over --reps): MB/s or ops/s, average request that reached the
// device (/sys/block/X/stat), CPU per GiB or per op (bench + daemon), voluntary context
// switches, peak RSS, ratio to the raw device. Output: a table, bench.csv, bench.json and
// charts (gnuplot). Needs root: loop devices, mounts, drop_caches.
//   chainfs-bench --quick --out /tmp/b        # every strategy and reference, under 2 minutes
//   chainfs-bench --device /dev/sdX --size 1024 --runtime 20 --reps 5 --out results
//   chainfs-bench --nbd --targets engine,chainfs  # the same rows over NBD beside the local ones
// An NBD URI as --device runs the engine and chainfs rows on that export (raw, ext4 and
// fuse2fs need a kernel block device and are skipped). --nbd serves a second image on the
// same disk with nbdkit's file plugin (Unix socket) and adds "nbd ..." rows: the engine's
// request sizes are then the NBD commands it sent, and CPU includes nbdkit's.
// Limits: ext4's CPU is only what the kernel charged to the bench process (writeback in
// kernel threads is not counted); peak RSS is the daemon's for FUSE targets and the bench's
// own otherwise.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "base/option_table.h"
#include "chainfs/version.h"
#include "fs/cache/cache_options.h"
#include "io/completion_thread.h"
#include "io/nbd_device.h"
#include "mem/pool_options.h"
#include "tools/bench/cell.h"
#include "tools/bench/engine.h"
#include "tools/bench/fio.h"
#include "tools/bench/report.h"
#include "tools/bench/system.h"
#include "tools/bench/workloads.h"
#include "tools/common/cli.h"

using namespace chainfs;
using namespace chainfs::bench;

namespace {

constexpr const char* kProg = "chainfs-bench";

struct FsSet {
  std::string name, opts;
};

struct Config {
  std::string device, image_dir = "/var/tmp", out = "chainfs-bench-out";
  uint64_t size_mib = 256;
  double runtime = 10;
  unsigned reps = 3;
  uint32_t files = 20000;
  uint32_t entries = 100000;
  bool quick = false, quiet = false, nbd = false;
  std::vector<std::string> targets{"engine", "raw", "ext4", "fuse2fs", "chainfs"};
  // Every value of the options, from their declarations.
  std::vector<std::string> strategies = base::choice_names(cache::write_strategies());
  std::vector<std::string> completions = base::choice_names(io::completion_modes());
  std::vector<std::string> allocs = base::choice_names(mem::pool_kinds());
  std::vector<std::string> fs_sets;  // NAME=OPTS
  std::vector<std::string> workloads = all_workloads();
  std::string chainfs_bin, mkfs_bin;
  std::string fio = "auto";  // auto | on | off
};

// The transport is a dimension of the chain rows: FUSE-over-io_uring rows only when the
// kernel offers the ring (enable_uring = Y), else chainfs would quietly run them on /dev/fuse.
bool kernel_offers_uring() {
  std::ifstream f("/sys/module/fuse/parameters/enable_uring");
  char c = 0;
  return f.get(c) && c == 'Y';
}

// A fresh image's size: room for the two files of --size, and for the inodes the metadata
// workloads hold at once (stat-tree's tree, the listed directory, and files' own while both
// exist) at the one inode per 16 KiB that mkfs.ext4 and mkfs.chainfs give by default; 512 MiB
// more for the rest; at least 1 GiB.
uint64_t image_bytes(const Config& c) {
  uint64_t inodes = 2ull * c.files + c.entries;
  return std::max<uint64_t>(std::max((c.size_mib << 20) * 2, inodes * 16 * 1024) + (512ull << 20), 1ull << 30);
}

std::vector<FsSet> default_fs_sets() {
  std::vector<FsSet> sets = {{"sync/direct", "write_strategy=sync,cache=direct"},
                             {"page/direct", "write_strategy=page,cache=direct"},
                             {"chain/direct", "write_strategy=chain,cache=direct,transport=dev"},
                             {"sync/kernel", "write_strategy=sync,cache=kernel"},
                             {"page/kernel", "write_strategy=page,cache=kernel"},
                             {"chain/kernel", "write_strategy=chain,cache=kernel,transport=dev"},
                             {"chain/kernel/page-read", "write_strategy=chain,cache=kernel,read_strategy=page"}};
  if (kernel_offers_uring()) {
    sets.push_back({"chain/direct/uring", "write_strategy=chain,cache=direct,transport=uring"});
    sets.push_back({"chain/kernel/uring", "write_strategy=chain,cache=kernel,transport=uring"});
  }
  return sets;
}

Cell make_cell(std::string level, std::string target, std::string options, std::string workload, std::string unit) {
  Cell c;
  c.level = std::move(level);
  c.target = std::move(target);
  c.options = std::move(options);
  c.workload = std::move(workload);
  c.unit = std::move(unit);
  return c;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// The progress line: "[12/54] chainfs chain/direct seq-write-1m (rep 1/3)" on a terminal.
class ProgressLine {
 public:
  ProgressLine(size_t total, bool quiet)
      : total_(total), on_(!quiet && isatty(2) && !std::getenv("CHAINFS_NO_PROGRESS")) {}
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void show(const Cell& c, unsigned rep, unsigned reps) {
    if (!on_) return;
    std::string l = fmt::format("[{}/{}] {} {} (rep {}/{})", done_ + 1, total_, c.target, c.workload, rep + 1, reps);
    fmt::print(stderr, "\r\033[K{}", l);
    std::fflush(stderr);
  }
  void cell_done() { ++done_; }
  void clear() {
    if (on_) fmt::print(stderr, "\r\033[K");
  }
  // A message on its own line, keeping the progress line below it.
  void note(const std::string& msg) {
    clear();
    fmt::print(stderr, "{}: {}\n", kProg, msg);
  }

 private:
  size_t total_, done_ = 0;
  bool on_;
};

struct Run {
  Config cfg;
  std::string fio_bin;
  nlohmann::json daemon_stats = nlohmann::json::object();  // target -> [{after, stats}]
  WorkParams params;
  std::string dev;
  std::string nbd_uri;   // --nbd: the export served by nbd_server
  pid_t nbd_server = -1;
  std::vector<Cell> cells;
  ProgressLine* progress = nullptr;
};

std::vector<Cell*> cells_of(Run& run, const std::string& target) {
  std::vector<Cell*> out;
  for (Cell& c : run.cells)
    if (c.target == target) out.push_back(&c);
  return out;
}

void skip_all(Run& run, const std::string& target, const std::string& status, const std::string& why) {
  bool first = true;
  for (Cell* c : cells_of(run, target)) {
    if (c->status != "ok" || !c->reps.empty()) continue;
    c->status = status;
    c->reason = why;
    run.progress->cell_done();
    if (first) run.progress->note(fmt::format("{}: {} ({})", target, status, why));
    first = false;
  }
}

void record(Run& run, Cell* c, int rc, const std::string& why, const Sample& s) {
  if (rc == 0) {
    c->reps.push_back(s);
    return;
  }
  c->status = rc == -EOPNOTSUPP ? "skipped" : "failed";
  c->reason = why;
  run.progress->note(fmt::format("{} {}: {}", c->target, c->workload, why));
}

// One repetition of a filesystem-level or raw workload (dir empty: on the raw device).
int run_workload(Run& run, const std::string& w, const std::string& dir, Meter& m, Sample* s, std::string* why) {
  if (w.rfind("fio-", 0) == 0) {
    if (run.fio_bin.empty()) {
      *why = "fio is not installed (Debian package fio)";
      return -EOPNOTSUPP;
    }
    return run_fio_workload(run.fio_bin, w, dir, dir.empty() ? run.dev : "", run.params, m, s, why);
  }
  if (dir.empty()) return run_raw_workload(w, run.dev, run.params, m, s, why);
  return run_fs_workload(w, dir, run.params, m, s, why);
}

// The engine rows on dev; prefix names the rows ("" or "nbd "), server is nbdkit's pid or -1.
void run_engine(Run& run, const std::string& dev, const std::string& prefix, pid_t server) {
  for (const EngineConfig& ec : engine_matrix(run.cfg.strategies, run.cfg.completions, run.cfg.allocs)) {
    for (Cell* c : cells_of(run, prefix + ec.label())) {
      for (unsigned r = 0; r < run.cfg.reps && c->status == "ok"; ++r) {
        run.progress->show(*c, r, run.cfg.reps);
        Meter m(io::is_nbd_uri(dev) ? "" : dev, -1, server);
        Sample s;
        std::string why;
        int rc = run_engine_workload(ec, c->workload, dev, run.params, m, &s, &why);
        record(run, c, rc, why, s);
      }
      run.progress->cell_done();
    }
  }
}

void run_raw(Run& run) {
  bool wrote_b = false;
  for (Cell* c : cells_of(run, "raw")) {
    for (unsigned r = 0; r < run.cfg.reps && c->status == "ok"; ++r) {
      std::string why;
      if (!wrote_b && workload_uses_seq1m(c->workload) && c->workload != "rand-write-4k") {
        // Reads of a never-written sparse image would measure holes, not the device.
        Meter prep("", -1);
        Sample ps;
        if (int rc = run_raw_workload("seq-write-1m", run.dev, run.params, prep, &ps, &why); rc < 0) {
          record(run, c, rc, "preparation: " + why, ps);
          break;
        }
        wrote_b = true;
      }
      run.progress->show(*c, r, run.cfg.reps);
      Meter m(run.dev, -1);
      Sample s;
      int rc = run_workload(run, c->workload, "", m, &s, &why);
      if (rc == 0 && c->workload == "seq-write-1m") wrote_b = true;
      record(run, c, rc, why, s);
    }
    run.progress->cell_done();
  }
}

// How to make and mount one filesystem target.
struct FsTarget {
  std::string target, level, options;
  std::string dev;                                // what it is made and mounted on
  pid_t server = -1;                              // nbdkit serving dev, or -1
  std::vector<std::string> mkfs;                 // argv
  std::string kernel_type;                        // "ext4", or empty for a daemon
  std::vector<std::string> daemon;                // argv without DEV MNT
  std::string skip;                               // reason it cannot run
  std::string stats_path;                         // the daemon's -o stats= file, if any
};

// Keeps what the daemon's statistics file said when a mount ended (what the engine did).
void capture_stats(Run& run, const FsTarget& t, const std::string& after) {
  if (t.stats_path.empty()) return;
  std::ifstream f(t.stats_path);
  if (!f) return;
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_discarded()) return;
  run.daemon_stats[t.target].push_back({{"after", after}, {"stats", j}});
  ::unlink(t.stats_path.c_str());
}

int mount_target(const Run& run, const FsTarget& t, const std::string& mnt, Mounted* m, std::string* why) {
  if (!t.kernel_type.empty()) return m->mount_kernel(t.kernel_type, t.dev, mnt, "", why);
  std::vector<std::string> argv{t.daemon[0], t.dev, mnt};
  argv.insert(argv.end(), t.daemon.begin() + 1, t.daemon.end());
  std::string log = run.cfg.out + "/daemon.log";
  std::ofstream(log, std::ios::app) << "=== " << t.target << "\n";
  return m->mount_daemon(argv, mnt, log, why);
}

void run_fs_target(Run& run, const FsTarget& t) {
  if (!t.skip.empty()) return skip_all(run, t.target, "skipped", t.skip);
  CommandResult mk = run_command(t.mkfs, 600);
  if (mk.status != 0) return skip_all(run, t.target, "failed", fmt::format("mkfs failed ({}): {}", mk.status, mk.out));
  TempDir mnt;
  if (mnt.create("/tmp/chainfs-bench-mnt-") < 0) return skip_all(run, t.target, "failed", "cannot make a mountpoint");
  auto mounted = std::make_unique<Mounted>();
  std::string why;
  if (mount_target(run, t, mnt.path(), mounted.get(), &why) < 0) return skip_all(run, t.target, "failed", why);
  std::vector<Cell*> cells = cells_of(run, t.target);
  for (unsigned r = 0; r < run.cfg.reps; ++r) {
    for (Cell* c : cells) {
      if (c->status != "ok") continue;
      run.progress->show(*c, r, run.cfg.reps);
      Sample s;
      why.clear();
      // What the workload reads is made first, so that a cold read finds it on the device only.
      int rc = prepare_fs_workload(c->workload, mnt.path(), run.params, &why);
      if (rc < 0) {
        why = "preparation: " + why;
      } else {
        if (workload_is_read(c->workload)) {
          // Cold cache: the filesystem's own (a fresh daemon) and the kernel's.
          if (mounted->unmount() < 0) run.progress->note(t.target + ": unmount before a cold read was not clean");
          capture_stats(run, t, "before " + c->workload);
          drop_caches();
          mounted = std::make_unique<Mounted>();
          if (mount_target(run, t, mnt.path(), mounted.get(), &why) < 0)
            return skip_all(run, t.target, "failed", why);
        }
        Meter m(io::is_nbd_uri(t.dev) ? "" : t.dev, mounted->daemon_pid(), t.server);
        rc = run_workload(run, c->workload, mnt.path(), m, &s, &why);
      }
      record(run, c, rc, why, s);
      if (r + 1 == run.cfg.reps) run.progress->cell_done();
    }
  }
  if (mounted->unmount() < 0) run.progress->note(t.target + ": unmount was not clean");
  capture_stats(run, t, "end");
  for (Cell* c : cells)
    if (c->status == "ok" && c->reps.empty()) run.progress->cell_done();
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, size_t(n));
  return p.substr(0, p.rfind('/'));
}

// The filesystem targets on dev; prefix names them ("" or "nbd "), server is nbdkit's pid or -1.
std::vector<FsTarget> fs_targets(const Run& run, const std::vector<FsSet>& sets, const std::string& dev,
                                 const std::string& prefix, pid_t server) {
  std::vector<FsTarget> out;
  const Config& c = run.cfg;
  const std::string no_blockdev = io::is_nbd_uri(dev) ? "an NBD export is no kernel block device" : "";
  std::string mkfs_ext4 = find_program("mkfs.ext4", {});
  std::vector<std::string> mkfs_ext4_argv{mkfs_ext4, "-F", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0", dev};
  if (has(c.targets, "ext4") && prefix.empty()) {
    FsTarget t{"ext4", "reference", "mkfs.ext4 defaults", dev, server, mkfs_ext4_argv, "ext4", {}, no_blockdev, ""};
    if (mkfs_ext4.empty()) t.skip = "mkfs.ext4 not found (Debian package e2fsprogs)";
    out.push_back(t);
  }
  if (has(c.targets, "fuse2fs") && prefix.empty()) {
    std::string bin = find_program("fuse2fs", {});
    FsTarget t{"fuse2fs", "reference", "-f", dev, server, mkfs_ext4_argv, "", {bin, "-f"}, no_blockdev, ""};
    if (bin.empty()) t.skip = "fuse2fs not installed (Debian package fuse2fs)";
    else if (mkfs_ext4.empty()) t.skip = "mkfs.ext4 not found (Debian package e2fsprogs)";
    out.push_back(t);
  }
  if (has(c.targets, "chainfs")) {
    std::string dir = self_dir();
    std::string daemon = find_program("chainfs", {c.chainfs_bin, dir + "/../chainfs/chainfs"});
    std::string mkfs = find_program("mkfs.chainfs", {c.mkfs_bin, dir + "/../mkfs/mkfs.chainfs"});
    for (const FsSet& s : sets) {
      std::string stats = fmt::format("{}/stats-{}{}.json", c.out, prefix.empty() ? "" : "nbd-", s.name);
      for (char& ch : stats)
        if (ch == ' ') ch = '_';
      std::replace(stats.begin() + long(c.out.size()) + 1, stats.end(), '/', '-');
      FsTarget t{prefix + "chainfs " + s.name, "fs", s.opts, dev, server, {mkfs, "-f", "-q", dev}, "",
                 {daemon, "-f", "-o", s.opts + ",stats=" + stats}, "", stats};
      if (daemon.empty()) t.skip = "the chainfs daemon was not found (give --chainfs or install it)";
      else if (mkfs.empty()) t.skip = "mkfs.chainfs was not found (give --mkfs or install it)";
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"chainfs-bench: chainfs's strategies side by side, against the raw device, ext4 and fuse2fs"};
  app.set_version_flag("--version", cli::version_text(kProg));
  app.add_option("--device", c.device,
                 "block device or NBD URI to use (ITS CONTENTS ARE DESTROYED); default: a fresh image on a loop device");
  app.add_flag("--nbd", c.nbd,
               "also the engine and chainfs rows over NBD: nbdkit's file plugin serving a fresh image in --image-dir");
  app.add_option("--image-dir", c.image_dir, "where the fresh image is made (default /var/tmp)");
  app.add_option("--size", c.size_mib, "MiB per file and per sequential pass (default 256)")->check(CLI::PositiveNumber);
  app.add_option("--runtime", c.runtime, "seconds, at most, per repetition of a cell (default 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--reps", c.reps, "repetitions per cell; medians are reported (default 3)")->check(CLI::PositiveNumber);
  app.add_option("--files", c.files,
                 "files created, stat'ed and unlinked by 'files', and in the tree 'stat-tree' stats (default 20000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--entries", c.entries,
                 "entries of the directory 'readdir' and 'readdir-stat' list (default 100000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--targets", c.targets, "engine, raw, ext4, fuse2fs, chainfs")->delimiter(',');
  app.add_option("--strategies", c.strategies, "engine write strategies: " + fmt::format("{}", fmt::join(c.strategies, ", ")))
      ->delimiter(',');
  app.add_option("--completions", c.completions, "engine completion modes: " + fmt::format("{}", fmt::join(c.completions, ", ")))
      ->delimiter(',');
  app.add_option("--page-allocs", c.allocs, "engine page allocators: " + fmt::format("{}", fmt::join(c.allocs, ", ")))
      ->delimiter(',');
  app.add_option("--fs-sets", c.fs_sets,
                 "chainfs mounts as NAME=OPTS (';'-separated), e.g. 'fast=write_strategy=chain,cache=kernel'; "
                 "default: sync, page, chain with cache=direct and cache=kernel, chain with read_strategy=page, and "
                 "chain with transport=uring when /sys/module/fuse/parameters/enable_uring is Y")
      ->delimiter(';');
  app.add_option("--workloads", c.workloads, fmt::format("{}", fmt::join(all_workloads(), ", ")))->delimiter(',');
  app.add_option("--out", c.out, "directory for bench.csv, bench.json, charts and daemon logs");
  app.add_flag("--quick", c.quick, "small sizes, one repetition: every strategy and reference in under 2 minutes");
  app.add_option("--chainfs", c.chainfs_bin, "the chainfs daemon (default: beside this binary, then PATH)");
  app.add_option("--mkfs", c.mkfs_bin, "mkfs.chainfs (default: beside this binary, then PATH)");
  app.add_option("--fio", c.fio, "also drive every target with fio: auto (when installed), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_flag("-q,--quiet", c.quiet, "no progress line");
  CLI11_PARSE(app, argc, argv);

  if (c.quick) {
    c.size_mib = std::min<uint64_t>(c.size_mib, 16);
    c.runtime = std::min(c.runtime, 0.5);
    c.reps = 1;
    c.files = std::min<uint32_t>(c.files, 500);
    c.entries = std::min<uint32_t>(c.entries, 2000);
  }
  std::string fio_bin = find_fio();
  if (app.count("--workloads") == 0 && (c.fio == "on" || (c.fio == "auto" && !fio_bin.empty())))
    c.workloads.insert(c.workloads.end(), fio_workloads().begin(), fio_workloads().end());
  for (const std::string& w : c.workloads)
    if (!is_workload(w) && !has(fio_workloads(), w)) {
      cli::error_line(kProg, "unknown workload '" + w + "'");
      return cli::kExitUsage;
    }
  for (const std::string& t : c.targets)
    if (!has({"engine", "raw", "ext4", "fuse2fs", "chainfs"}, t)) {
      cli::error_line(kProg, "unknown target '" + t + "'");
      return cli::kExitUsage;
    }
  for (const std::string& s : c.strategies)
    if (!base::parse_choice(cache::write_strategies(), s)) {
      cli::error_line(kProg, "unknown write strategy '" + s + "'");
      return cli::kExitUsage;
    }
  for (const std::string& s : c.completions)
    if (!base::parse_choice(io::completion_modes(), s)) {
      cli::error_line(kProg, "unknown completion mode '" + s + "'");
      return cli::kExitUsage;
    }
  for (const std::string& s : c.allocs)
    if (!base::parse_choice(mem::pool_kinds(), s)) {
      cli::error_line(kProg, "unknown page_alloc '" + s + "'");
      return cli::kExitUsage;
    }
  std::vector<FsSet> sets;
  for (const std::string& s : c.fs_sets) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      cli::error_line(kProg, "--fs-sets wants NAME=OPTS, got '" + s + "'");
      return cli::kExitUsage;
    }
    sets.push_back({s.substr(0, eq), s.substr(eq + 1)});
  }
  if (sets.empty()) sets = default_fs_sets();
  if (geteuid() != 0) {
    cli::error_line(kProg, "run as root (loop devices, mounts and drop_caches need it)");
    return cli::kExitUsage;
  }
  if (mkdir(c.out.c_str(), 0755) != 0 && errno != EEXIST) {
    cli::error_line(kProg, fmt::format("cannot create {}: {}", c.out, std::strerror(errno)));
    return 1;
  }
  ::unlink((c.out + "/daemon.log").c_str());
  install_stop_handlers();

  Run run;
  run.cfg = c;
  run.fio_bin = c.fio == "off" ? "" : fio_bin;
  run.params.size = c.size_mib << 20;
  run.params.runtime = c.runtime;
  run.params.files = c.files;
  run.params.entries = c.entries;

  // The device: a given block device, a loop device over a given image, or a fresh image.
  LoopImage loop;
  std::string why;
  struct stat st{};
  if (!c.device.empty() && (io::is_nbd_uri(c.device) || (stat(c.device.c_str(), &st) == 0 && S_ISBLK(st.st_mode)))) {
    run.dev = c.device;
  } else if (!c.device.empty()) {
    cli::error_line(kProg, c.device + " is not a block device (give an image file through a loop device: losetup)");
    return cli::kExitUsage;
  } else {
    if (loop.create(c.image_dir, image_bytes(c), &why) < 0) {
      cli::error_line(kProg, why);
      return 1;
    }
    run.dev = loop.device();
  }

  // --nbd: a second image of the same size on the same disk, served by nbdkit.
  NbdServer nbd;
  if (c.nbd) {
    if (nbd.start(c.image_dir, image_bytes(c), c.out + "/nbdkit.log", &why) < 0) {
      cli::error_line(kProg, why);
      return 1;
    }
    run.nbd_uri = nbd.uri();
    run.nbd_server = nbd.pid();
  }

  // Every requested cell exists from the start, so an aborted or skipped part still shows.
  std::vector<FsTarget> fs = fs_targets(run, sets, run.dev, "", -1);
  std::vector<FsTarget> nbd_fs;
  if (c.nbd) nbd_fs = fs_targets(run, sets, run.nbd_uri, "nbd ", run.nbd_server);
  auto engine_cells = [&](const std::string& prefix) {
    for (const EngineConfig& ec : engine_matrix(c.strategies, c.completions, c.allocs))
      for (const std::string& w : engine_workloads())
        run.cells.push_back(make_cell("engine", prefix + ec.label(),
                                      fmt::format("write_strategy={},completion={},page_alloc={}", ec.strategy,
                                                  ec.completion, ec.page_alloc),
                                      w, "MB/s"));
  };
  if (has(c.targets, "engine")) {
    engine_cells("");
    if (c.nbd) engine_cells("nbd ");
  }
  if (has(c.targets, "raw"))
    for (const std::string& w : c.workloads)
      run.cells.push_back(make_cell("reference", "raw", "io_uring O_DIRECT", w, workload_unit(w)));
  for (const auto* list : {&fs, &nbd_fs})
    for (const FsTarget& t : *list)
      for (const std::string& w : c.workloads)
        run.cells.push_back(make_cell(t.level, t.target, t.options, w, workload_unit(w)));

  ProgressLine progress(run.cells.size(), c.quiet);
  run.progress = &progress;
  fmt::print("{}: device {} ({}), {} MiB per file, {} s per cell at most, {} repetition(s), {} cells\n", kProg, run.dev,
             c.device.empty() ? "loop device over " + loop.image() : "given", c.size_mib, c.runtime, c.reps,
             run.cells.size());
  std::fflush(stdout);
  auto t0 = std::chrono::steady_clock::now();
  bool interrupted = false;
  try {
    if (has(c.targets, "engine")) {
      run_engine(run, run.dev, "", -1);
      if (c.nbd) run_engine(run, run.nbd_uri, "nbd ", run.nbd_server);
    }
    if (has(c.targets, "raw")) {
      if (io::is_nbd_uri(run.dev)) skip_all(run, "raw", "skipped", "an NBD export is no kernel block device");
      else run_raw(run);
    }
    for (const FsTarget& t : fs) run_fs_target(run, t);
    for (const FsTarget& t : nbd_fs) run_fs_target(run, t);
  } catch (const Interrupted&) {
    interrupted = true;
  } catch (const std::exception& e) {
    progress.note(std::string("stopped: ") + e.what());
    interrupted = true;
  }
  progress.clear();
  for (Cell& cell : run.cells) {
    if (cell.status == "ok" && cell.reps.empty()) {
      cell.status = "failed";
      cell.reason = interrupted ? "interrupted" : "did not run";
    }
    summarize(&cell);
  }
  compute_ratios(&run.cells);
  double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  print_table(stdout, run.cells);
  nlohmann::json info{{"device", run.dev},
                      {"nbd", run.nbd_uri.empty() ? nlohmann::json() : nlohmann::json{{"uri", run.nbd_uri}, {"image", nbd.image()}}},
                      {"image", c.device.empty() ? loop.image() : ""},
                      {"size_mib", c.size_mib},
                      {"runtime_s", c.runtime},
                      {"reps", c.reps},
                      {"files", c.files},
                      {"entries", c.entries},
                      {"quick", c.quick},
                      {"workloads", c.workloads},
                      {"targets", c.targets},
                      {"seconds", total_s},
                      {"interrupted", interrupted},
                      {"nproc", sysconf(_SC_NPROCESSORS_ONLN)}};
  std::ofstream(c.out + "/bench.csv") << to_csv(run.cells);
  nlohmann::json out = to_json(run.cells, info);
  out["daemon_stats"] = run.daemon_stats;
  std::ofstream(c.out + "/bench.json") << out.dump(2) << "\n";
  std::string chart = write_charts(c.out, run.cells);
  fmt::print("{}: {:.0f} s; wrote {}/bench.csv, {}/bench.json{}\n", kProg, total_s, c.out, c.out,
             chart.empty() ? fmt::format(", {0}/bench-throughput.png, {0}/bench-reqsize.png", c.out) : "");
  if (!chart.empty()) fmt::print("{}: no chart: {}\n", kProg, chart);
  return interrupted ? 130 : 0;
}
