#include "tools/chainfs/daemon.h"

#include <fuse_lowlevel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "fs/fuse/context.h"
#include "fs/fuse/ops.h"
#include "io/engine.h"
#include "io/named_device.h"
#include "io/recording_device.h"
#include "mem/pool_options.h"
#include "tools/chainfs/cmdline.h"
#include "tools/chainfs/control.h"
#include "tools/chainfs/daemonize.h"
#include "tools/chainfs/fault_hook.h"
#include "tools/chainfs/logging.h"
#include "tools/chainfs/mountinfo.h"
#include "tools/chainfs/mountpoint.h"
#include "tools/chainfs/session_transport.h"
#include "tools/common/cli.h"

namespace chainfs::daemon {

namespace {

constexpr int kBusyWaitMs = 10000;  // a previous daemon of this device may still be flushing

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};
struct LoopConfigDeleter {
  void operator()(fuse_loop_config* c) const { fuse_loop_cfg_destroy(c); }
};

void print_help(const CommandLine& cl) {
  std::fputs(usage_line(cl.program).c_str(), stdout);
  std::puts("Mounts the chainfs filesystem on DEV (a block device, an image file or an NBD URI such as\n"
            "nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH) at MOUNTPOINT.\n"
            "Exit status: 0 mounted, 1 usage error, 32 mount failure.\n");
  std::fputs(options_help().c_str(), stdout);
  std::puts("\nFUSE options:");
  std::fflush(stdout);
  fuse_cmdline_help();
  fuse_lowlevel_help();
}

void print_version(const CommandLine& cl) {
  std::fputs(cli::version_text(cl.program).c_str(), stdout);
  std::printf("FUSE library version %s\n", fuse_pkgversion());
  std::fflush(stdout);
  fuse_lowlevel_version();  // "using FUSE kernel interface version 7.31"
}

std::string device_error(const std::string& dev, int e, const std::string& detail) {
  if (io::is_nbd_uri(dev) && e != -EBUSY) return io::open_error_text(dev, e, detail);
  switch (-e) {
    case EBUSY:
      return dev + " is in use (mounted or held by another program; waited " +
             std::to_string(kBusyWaitMs / 1000) + " s)";
    case ENOTBLK:
      return dev + " is neither a block device nor a regular file";
    default:
      return "cannot open " + dev + ": " + std::strerror(-e);
  }
}

// Completes the mount options from the command line: the data engine's settings, an
// absolute stats= path, and the compound-fallback switch from the environment.
void settle_mount_options(CommandLine* cl) {
  fs::MountOptions& m = cl->mount;
  if (!m.stats_path.empty()) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(m.stats_path, ec);
    if (!ec) m.stats_path = abs.string();
  }
  // -o compound_fallback, or CHAINFS_FORCE_COMPOUND_FALLBACK=1 in the environment.
  m.force_compound_fallback = m.force_compound_fallback || mem::force_fallback_from_env();
  m.engine = std::make_shared<const cache::EngineConfig>(cl->engine);
}

// Test hook for the crash-consistency tests (tools/crashcheck), not for users: with
// CHAINFS_RECORD_LOG=/absolute/path in the environment, every write and flush of this mount
// (metadata and file data) is logged to that file (io/recording_device.h).
int record_if_asked(std::unique_ptr<io::Device>* dev) {
  const char* path = std::getenv("CHAINFS_RECORD_LOG");
  if (!path || !*path) return 0;
  auto log = std::make_shared<io::WriteLog>(false);
  if (int e = log->open_file(path, (*dev)->limits().logical_block_size, (*dev)->size_bytes()); e < 0) return e;
  *dev = io::make_recording_device(std::move(*dev), std::move(log));
  return 0;
}

int open_device(const CommandLine& cl, std::unique_ptr<io::Device>* dev, std::string* detail) {
  io::OpenOptions oo;
  oo.exclusive = true;
  oo.kernel_claims = cl.blkdev;
  oo.busy_wait_ms = kBusyWaitMs;
  // Read-write even for -o ro, so a later remount,rw can write; a write-protected
  // device still mounts read-only. The device type follows write_strategy (io/engine.h).
  const io::EngineOptions eo = cl.engine.io_options();
  int e = io::open_engine_device(cl.device, oo, eo, dev, detail);
  if ((e == -EROFS || e == -EACCES || e == -EPERM) && cl.mount.read_only) {
    oo.read_only = true;
    e = io::open_engine_device(cl.device, oo, eo, dev, detail);
  }
  if (e == 0) e = inject_faults_if_asked(dev);
  return e < 0 ? e : record_if_asked(dev);
}

int serve(CommandLine& cl, const std::string& mnt) {
  auto fail = [&](const std::string& msg) {
    cli::error_line(cl.program, msg);
    return cli::kExitMountFailure;
  };
  // Before the daemon changes its directory to /: a relative stats= path is the caller's.
  settle_mount_options(&cl);
  Daemonizer daemonizer;
  if (!cl.foreground) {
    if (int e = daemonizer.start(); e < 0) return fail(std::string("cannot fork: ") + std::strerror(-e));
  }

  // Before any thread starts (the filesystem may start some when mounted), so that only
  // the remount listener ever receives SIGUSR1.
  block_control_signal();
  struct stat st {};
  if (cl.blkdev && (stat(cl.device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)))
    return fail("-o blkdev needs a block device: " + cl.device + " is not one (attach an image with losetup)");
  std::unique_ptr<io::Device> dev;
  std::string detail;
  if (int e = open_device(cl, &dev, &detail); e < 0) return fail(device_error(cl.device, e, detail));
  std::string message;
  auto mounted = fs::mount_filesystem(std::move(dev), cl.mount, &message);
  if (!mounted) {
    if (message.empty()) message = std::strerror(-mounted.err());
    return fail("cannot mount " + cl.device + ": " + message);
  }
  std::unique_ptr<fs::Filesystem> fs = std::move(*mounted);
  // From here on, every exit path flushes the filesystem and marks it clean.
  struct Unmounter {
    std::unique_ptr<fs::Filesystem>& fs;
    ~Unmounter() {
      if (!fs) return;
      if (int r = fs->unmount(); r < 0) spdlog::error("unmount: flushing the filesystem failed: {}", std::strerror(-r));
      fs.reset();  // closes the device, releasing the exclusive claim
    }
  } unmounter{fs};
  if (fs->was_unclean())
    cli::error_line(cl.program, fmt::format("{} was not cleanly unmounted; the journal replayed {} committed "
                                            "transactions (fsck.chainfs {} checks it)",
                                            cl.device, fs->recovered_transactions(), cl.device));

  fuse::Context ctx;
  ctx.fs = fs.get();
  ctx.options = cl.options;
  ctx.conn_opts = cl.conn_opts.get();
  ctx.max_read = cl.max_read;
  fuse_lowlevel_ops ops = fuse::make_operations();
  SessionTransport transport;  // outlives the session: its hooks serve the session's I/O
  std::unique_ptr<fuse_session, SessionDeleter> se(
      fuse_session_new(cl.session_args.get(), &ops, sizeof ops, &ctx));
  if (!se) return fail("cannot create the FUSE session (see the message above)");
  ctx.se = se.get();
  if (fuse_set_signal_handlers(se.get()) != 0) return fail("cannot install signal handlers");
  struct SignalRestorer {
    fuse_session* se;
    ~SignalRestorer() { fuse_remove_signal_handlers(se); }
  } restorer{se.get()};
  if (fuse_session_mount(se.get(), mnt.c_str()) != 0) return fail("cannot mount on " + cl.mountpoint);
  if (cl.mount.atime == fs::AtimeMode::kStrictatime || cl.mount.nodiratime) {
    if (int e = set_mount_atime(mnt, cl.mount.atime, cl.mount.nodiratime); e < 0)
      spdlog::warn("{}: cannot set the access-time mount flags ({}); mountinfo will not show them", mnt,
                   std::strerror(-e));
  }

  // The control channel for remount, keyed by the connection's device number.
  auto entry = find_mount(mnt);
  std::unique_ptr<PidFile> pid_file;
  if (entry) pid_file = std::make_unique<PidFile>(entry->dev);
  else spdlog::warn("{} not found in mountinfo; remount will not reach this daemon", mnt);
  if (int e = transport.setup(se.get(), &ctx, cl.options, entry ? entry->dev : std::string()); e < 0)
    return fail(std::string("cannot set up the FUSE transport: ") + std::strerror(-e));

  daemonizer.success();
  if (!cl.foreground) log_to_syslog(cl.program, cl.debug);
  spdlog::info("mounted {} on {}", cl.device, mnt);

  int rc = 0;
  {
    std::unique_ptr<RemountListener> listener;
    if (entry) listener = std::make_unique<RemountListener>(fs.get(), mnt, entry->dev);
    if (cl.single_thread) {
      rc = fuse_session_loop(se.get());
    } else {
      std::unique_ptr<fuse_loop_config, LoopConfigDeleter> cfg(fuse_loop_cfg_create());
      fuse_loop_cfg_set_clone_fd(cfg.get(), cl.clone_fd ? 1 : 0);
      fuse_loop_cfg_set_max_threads(cfg.get(), cl.max_threads);
      rc = fuse_session_loop_mt(se.get(), cfg.get());
    }
  }
  transport.stop();
  fuse_session_unmount(se.get());
  spdlog::info("unmounting {}", cl.device);
  return rc == 0 ? cli::kExitOk : 1;
}

}  // namespace

int daemon_main(int argc, char** argv) {
  CommandLine cl;
  std::string error;
  if (parse_command_line(argc, argv, &cl, &error) != 0) {
    cli::error_line(cl.program, error);
    return cli::kExitUsage;
  }
  if (cl.help) {
    print_help(cl);
    return cli::kExitOk;
  }
  if (cl.version) {
    print_version(cl);
    return cli::kExitOk;
  }
  log_to_stderr(cl.program, cl.debug);
  if (cl.remount) return remount(cl);
  std::string mnt, message;
  if (check_mountpoint(cl.mountpoint, cl.nonempty, &mnt, &message) != 0) {
    cli::error_line(cl.program, message);
    return cli::kExitMountFailure;
  }
  try {
    return serve(cl, mnt);
  } catch (const std::exception& e) {
    cli::error_line(cl.program, std::string("fatal: ") + e.what());
    return cli::kExitMountFailure;
  }
}

}  // namespace chainfs::daemon
