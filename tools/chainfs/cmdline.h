#pragma once
// CommandLine: the daemon's arguments, "chainfs DEV MOUNTPOINT [-o opts] [-f] [-d] [-s]",
// parsed the way libfuse 3.14 needs them: the device and mountpoint are
// taken out as non-options, chainfs's own -o keys are consumed by its own table, every
// option libfuse knows is kept for fuse_session_new() / fuse_parse_conn_info_opts(), and
// anything else is an unknown option (one line, exit 1) before any device is touched.
#include <memory>
#include <string>
#include <vector>

#include "fs/cache/engine_config.h"
#include "fs/fuse/options.h"
#include "fs/meta/filesystem.h"
#include "tools/chainfs/fuse_args.h"

struct fuse_conn_info_opts;

namespace chainfs::daemon {

struct ConnOptsDeleter {
  void operator()(fuse_conn_info_opts* p) const;
};
using ConnOpts = std::unique_ptr<fuse_conn_info_opts, ConnOptsDeleter>;

struct CommandLine {
  std::string program = "chainfs";
  std::string device;      // exactly as given: it becomes the default fsname
  std::string mountpoint;  // as given
  bool help = false;
  bool version = false;
  bool foreground = false;
  bool debug = false;
  bool single_thread = false;
  bool clone_fd = false;
  unsigned max_threads = 10;
  unsigned max_read = 0;  // -o max_read=N: init() must repeat it (libfuse checks)
  bool remount = false;   // -o remount: switch a running mount, never start a daemon
  bool nonempty = false;
  bool allow_other = false;
  // -o blkdev: a fuseblk mount (root, a block device): umount(2) returns only after the
  // daemon answered DESTROY, by which time everything is on the device.
  bool blkdev = false;
  std::string fsname;   // given by the user, else empty
  std::string subtype;  // given by the user, else empty
  // The generic mount flags given (ro, rw, nosuid, dev, noatime, ...) in order, for a
  // remount, which applies them on top of the running mount's flags.
  std::vector<std::string> flag_opts;

  // chainfs's own options, each layer's in its own struct (the parser fills mount's engine
  // from `engine` when the daemon starts).
  fs::MountOptions mount;     // read_only, atime, flush interval, statistics
  fuse::Options options;      // the FUSE request layer's: cache mode, transport, readahead
  cache::EngineConfig engine;  // the data engine's: strategies, completion, page pool

  // What fuse_session_new() gets: argv[0] plus the options libfuse handles, with
  // fsname/subtype and default_permissions added as chainfs's conventions say.
  FuseArgs session_args;
  // Connection options (max_write=, writeback_cache, ...) for fuse_apply_conn_info_opts().
  ConnOpts conn_opts;
};

// Parses argv. Returns 0, or -EINVAL with *error set to one line (usage error, exit 1).
// With --help or --version set, device and mountpoint may be missing.
int parse_command_line(int argc, char** argv, CommandLine* out, std::string* error);

// chainfs's part of --help: one line per option with its values and default.
std::string options_help();

// The usage line printed by --help before the option lists.
std::string usage_line(const std::string& program);

}  // namespace chainfs::daemon
