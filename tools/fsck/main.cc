// fsck.chainfs: checks the consistency of a chainfs (on-disk format v1), e2fsck style.
//
//   fsck.chainfs [-n|-y|-p|-a] [-f] [-v] [--] DEVICE
//
// -n (and no option at all) opens the device read-only and changes nothing (what fstests
// runs after every test);
// -y, -p and -a repair every problem found (tools/fsck/repair.cc), check again until clean
// (a few passes at most) and name what is left, if anything (then exit 4). A device in use (mounted read-write: the daemon
// holds it exclusively) is refused; an NBD export (DEVICE an nbd:// or nbd+unix:// URI) is
// claimed only on this machine (a lock file per URI), so nothing stops a repair of an export
// another host has mounted (README, "Network block devices"). One line per problem on stdout, then a summary line.
// Exit status as e2fsck(8): 0 clean, 1 errors corrected, 4 errors left uncorrected,
// 8 operational error (cannot open, not a chainfs), 16 usage error.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "io/named_device.h"
#include "tools/common/cli.h"
#include "tools/common/progress.h"
#include "tools/fsck/check.h"

namespace {

constexpr const char* kProg = "fsck.chainfs";
// A daemon that was just unmounted may still be flushing: wait this long for the device.
constexpr int kBusyWaitMs = 3000;

}  // namespace

int main(int argc, char** argv) {
  using namespace chainfs;
  using cli::error_line;
  CLI::App app{"Check a chainfs filesystem (on-disk format v1) on DEVICE. Without -y, -p or -a nothing is "
               "changed. Exit status: 0 clean, 1 errors corrected, 4 errors left, 8 operational error, 16 usage.",
               kProg};
  std::string device;
  bool no = false, yes = false, preen = false, preen_a = false, force = false, verbose = false;
  app.add_option("device", device, "block device, image file or NBD URI")->required();
  auto* n = app.add_flag("-n,--no", no, "open read-only and change nothing; report every problem");
  auto* y = app.add_flag("-y,--yes", yes, "repair every problem found");
  auto* p = app.add_flag("-p,--preen", preen, "repair without asking (as -y)");
  auto* a = app.add_flag("-a", preen_a, "same as -p");
  n->excludes(y)->excludes(p)->excludes(a);
  app.add_flag("-f,--force", force, "check even if the filesystem seems clean (always done)");
  app.add_flag("-v,--verbose", verbose, "print a summary of what the filesystem holds");
  app.set_version_flag("-V,--version", cli::version_text(kProg));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion&) {
    std::fputs(cli::version_text(kProg).c_str(), stdout);
    return cli::kFsckOk;
  } catch (const CLI::ParseError& e) {
    error_line(kProg, e.what());
    return cli::kFsckUsage;
  }
  const bool repair = yes || preen || preen_a;

  io::OpenOptions oo;
  oo.read_only = !repair;
  oo.exclusive = true;
  oo.busy_wait_ms = kBusyWaitMs;
  std::unique_ptr<io::Device> dev;
  std::string detail;
  int r = io::open_named_device(device, oo, {}, &dev, &detail);
  if (r == -EBUSY) {
    error_line(kProg, fmt::format("{} is in use (mounted?): refusing to check it", device));
    return cli::kFsckError;
  }
  if (r < 0) {
    error_line(kProg, io::open_error_text(device, r, detail));
    return cli::kFsckError;
  }

  std::unique_ptr<cli::Progress> bar;
  std::string phase;
  fsck::CheckOptions opts;
  opts.repair = repair;
  opts.progress = [&](std::string_view what, uint64_t done, uint64_t total) {
    if (what != phase) {
      bar.reset();
      phase = what;
      bar = std::make_unique<cli::Progress>(fmt::format("{}: {}", kProg, what), total);
    }
    bar->update(done);
  };
  fsck::CheckResult res = fsck::check_filesystem(*dev, opts);
  bar.reset();
  if (res.status < 0) {
    error_line(kProg, fmt::format("{}: {}", device, res.error));
    return cli::kFsckError;
  }
  for (const fsck::Problem& pr : res.problems) fmt::print("{}{}\n", pr.text, pr.fixed ? " (fixed)" : "");
  for (const std::string& done : res.repairs) fmt::print("repair: {}\n", done);
  for (const std::string& note : res.notes) fmt::print("note: {}\n", note);
  const fsck::CheckStats& st = res.stats;
  if (res.stats.used_backup_superblock && res.problems.empty())
    fmt::print("{}: checked with the backup superblock\n", device);
  if (st.was_unclean && !repair) fmt::print("note: not cleanly unmounted: orphans are freed at the next mount\n");
  if (verbose) {
    fmt::print("{:>12} inodes used of {}\n", st.inodes_used, st.inode_count);
    fmt::print("{:>12} directories\n{:>12} regular files\n{:>12} symbolic links\n{:>12} devices, fifos, sockets\n",
               st.dirs, st.files, st.symlinks, st.special);
    fmt::print("{:>12} extents, {} tree nodes, {} xattr blocks\n", st.extents, st.tree_nodes, st.xattr_blocks);
    fmt::print("{:>12} blocks used of {}\n", st.blocks_used, st.block_count);
  }
  const size_t left = res.unfixed(), fixed = res.problems.size() - left;
  if (res.problems.empty())
    fmt::print("{}: clean, {}/{} inodes, {}/{} blocks\n", device, st.inodes_used, st.inode_count, st.blocks_used,
               st.block_count);
  else
    fmt::print("{}: {} problem{} found, {} fixed, {}/{} inodes, {}/{} blocks\n", device, res.problems.size(),
               res.problems.size() == 1 ? "" : "s", fixed, st.inodes_used, st.inode_count, st.blocks_used,
               st.block_count);
  std::fflush(stdout);
  return res.exit_code();
}
