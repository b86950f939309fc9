#include "tools/chainfs/cmdline.h"

#include <fmt/core.h>
#include <fuse_lowlevel.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "fs/meta/mount_options.h"

namespace chainfs::daemon {

void ConnOptsDeleter::operator()(fuse_conn_info_opts* p) const { std::free(p); }

namespace {

enum Key {
  kHelp,
  kVersion,
  kForeground,
  kSingle,
  kDebug,
  kCloneFd,
  kMaxThreads,
  kMaxIdle,
  kMaxRead,
  kFsname,
  kSubtype,
  kAllowOther,
  kFlag,      // generic mount flag: kept for the kernel, remembered for remount
  kAtimeFlag, // access-time option libfuse passes to the kernel (atime, noatime): also kFlag
  kAtime,     // access-time option libfuse does not know: the daemon's alone, remembered
  kKeep,      // libfuse's own option: kept as is
  kBlkdev,    // -o blkdev (kept for libfuse too)
  kRemount,
  kIgnore,    // what mount.fuse3/mount(8) pass and the kernel sets by itself
  kNonempty,
};

// Options libfuse 3.14 handles (its command line, mount and session options, and
// fuse_parse_conn_info_opts). Anything not listed here or in chainfs's keys is unknown.
const struct fuse_opt kTable[] = {
    FUSE_OPT_KEY("-h", kHelp),
    FUSE_OPT_KEY("--help", kHelp),
    FUSE_OPT_KEY("-V", kVersion),
    FUSE_OPT_KEY("--version", kVersion),
    FUSE_OPT_KEY("-f", kForeground),
    FUSE_OPT_KEY("-s", kSingle),
    FUSE_OPT_KEY("-d", kDebug),
    FUSE_OPT_KEY("--debug", kDebug),
    FUSE_OPT_KEY("debug", kDebug),
    FUSE_OPT_KEY("clone_fd", kCloneFd),
    FUSE_OPT_KEY("max_threads=", kMaxThreads),
    FUSE_OPT_KEY("max_idle_threads=", kMaxIdle),
    FUSE_OPT_KEY("max_read=", kMaxRead),
    FUSE_OPT_KEY("fsname=", kFsname),
    FUSE_OPT_KEY("subtype=", kSubtype),
    FUSE_OPT_KEY("allow_other", kAllowOther),
    FUSE_OPT_KEY("ro", kFlag),
    FUSE_OPT_KEY("rw", kFlag),
    FUSE_OPT_KEY("suid", kFlag),
    FUSE_OPT_KEY("nosuid", kFlag),
    FUSE_OPT_KEY("dev", kFlag),
    FUSE_OPT_KEY("nodev", kFlag),
    FUSE_OPT_KEY("exec", kFlag),
    FUSE_OPT_KEY("noexec", kFlag),
    FUSE_OPT_KEY("async", kFlag),
    FUSE_OPT_KEY("sync", kFlag),
    FUSE_OPT_KEY("dirsync", kFlag),
    FUSE_OPT_KEY("atime", kAtimeFlag),
    FUSE_OPT_KEY("noatime", kAtimeFlag),
    FUSE_OPT_KEY("diratime", kAtime),
    FUSE_OPT_KEY("nodiratime", kAtime),
    FUSE_OPT_KEY("lazytime", kAtime),
    FUSE_OPT_KEY("nolazytime", kAtime),
    FUSE_OPT_KEY("relatime", kAtime),
    FUSE_OPT_KEY("norelatime", kAtime),
    FUSE_OPT_KEY("strictatime", kAtime),
    FUSE_OPT_KEY("nostrictatime", kAtime),
    FUSE_OPT_KEY("default_permissions", kKeep),
    FUSE_OPT_KEY("allow_root", kKeep),
    FUSE_OPT_KEY("auto_unmount", kKeep),
    FUSE_OPT_KEY("blkdev", kBlkdev),
    FUSE_OPT_KEY("blksize=", kKeep),
    FUSE_OPT_KEY("context=", kKeep),
    FUSE_OPT_KEY("fscontext=", kKeep),
    FUSE_OPT_KEY("defcontext=", kKeep),
    FUSE_OPT_KEY("rootcontext=", kKeep),
    FUSE_OPT_KEY("max_write=", kKeep),
    FUSE_OPT_KEY("max_readahead=", kKeep),
    FUSE_OPT_KEY("max_background=", kKeep),
    FUSE_OPT_KEY("congestion_threshold=", kKeep),
    FUSE_OPT_KEY("sync_read", kKeep),
    FUSE_OPT_KEY("async_read", kKeep),
    FUSE_OPT_KEY("atomic_o_trunc", kKeep),
    FUSE_OPT_KEY("no_remote_lock", kKeep),
    FUSE_OPT_KEY("no_remote_flock", kKeep),
    FUSE_OPT_KEY("no_remote_posix_lock", kKeep),
    FUSE_OPT_KEY("splice_write", kKeep),
    FUSE_OPT_KEY("no_splice_write", kKeep),
    FUSE_OPT_KEY("splice_move", kKeep),
    FUSE_OPT_KEY("no_splice_move", kKeep),
    FUSE_OPT_KEY("splice_read", kKeep),
    FUSE_OPT_KEY("no_splice_read", kKeep),
    FUSE_OPT_KEY("auto_inval_data", kKeep),
    FUSE_OPT_KEY("no_auto_inval_data", kKeep),
    FUSE_OPT_KEY("readdirplus=", kKeep),
    FUSE_OPT_KEY("async_dio", kKeep),
    FUSE_OPT_KEY("no_async_dio", kKeep),
    FUSE_OPT_KEY("writeback_cache", kKeep),
    FUSE_OPT_KEY("no_writeback_cache", kKeep),
    FUSE_OPT_KEY("time_gran=", kKeep),
    FUSE_OPT_KEY("remount", kRemount),
    FUSE_OPT_KEY("user_id=", kIgnore),
    FUSE_OPT_KEY("group_id=", kIgnore),
    FUSE_OPT_KEY("rootmode=", kIgnore),
    FUSE_OPT_KEY("defaults", kIgnore),
    FUSE_OPT_KEY("acl", kIgnore),  // POSIX ACLs are always on, as ext4's acl option says
    FUSE_OPT_KEY("nonempty", kNonempty),
    FUSE_OPT_END,
};

// The access-time options as the kernel combines mount(2)'s flags: each option sets or clears
// its flag in any order, then strictatime wins over noatime, and noatime over relatime, the
// default (so relatime, norelatime and nostrictatime alone all mean relatime). lazytime only
// delays writing timestamps to disk, which chainfs does anyway: they stay in the in-memory
// inode until the next write-back, so lazytime and nolazytime change nothing.
struct AtimeFlags {
  bool noatime = false;
  bool strictatime = false;
  bool nodiratime = false;

  void apply(std::string_view o) {
    if (o == "noatime") noatime = true;
    else if (o == "atime") noatime = false;
    else if (o == "strictatime") strictatime = true;
    else if (o == "nostrictatime") strictatime = false;
    else if (o == "nodiratime") nodiratime = true;
    else if (o == "diratime") nodiratime = false;
  }
  fs::AtimeMode mode() const {
    if (strictatime) return fs::AtimeMode::kStrictatime;
    return noatime ? fs::AtimeMode::kNoatime : fs::AtimeMode::kRelatime;
  }
};

struct ParseState {
  CommandLine* cl;
  std::string error;
  int nonopts = 0;
  AtimeFlags atime;
};

std::string_view value_of(std::string_view arg) {
  auto eq = arg.find('=');
  return eq == std::string_view::npos ? std::string_view() : arg.substr(eq + 1);
}

bool parse_uint(std::string_view text, unsigned* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// chainfs's own "-o key=value": each layer's option table in turn (the request layer's, the
// metadata layer's, the data engine's). 0, -EINVAL (*error set) or -ENOENT (no table's).
int set_chainfs_option(CommandLine& cl, std::string_view arg, std::string* error) {
  int r = base::set_option_arg(fuse::option_table(), cl.options, arg, error);
  if (r == -ENOENT) r = base::set_option_arg(fs::mount_option_table(), cl.mount, arg, error);
  if (r == -ENOENT) r = base::set_option_arg(cache::engine_config_table(), cl.engine, arg, error);
  return r;
}

// Returns -1 (stop, error set), 0 (consumed) or 1 (keep for libfuse).
int handle(ParseState* st, const char* arg_c, int key) {
  CommandLine& cl = *st->cl;
  std::string_view arg(arg_c);
  switch (key) {
    case FUSE_OPT_KEY_NONOPT:
      if (st->nonopts == 0) cl.device = arg;
      else if (st->nonopts == 1) cl.mountpoint = arg;
      else {
        st->error = fmt::format("unexpected argument '{}' (usage: {} DEV MOUNTPOINT [-o opts])", arg, cl.program);
        return -1;
      }
      ++st->nonopts;
      return 0;
    case FUSE_OPT_KEY_OPT:
      if (!arg.starts_with("-")) {
        if (int r = set_chainfs_option(cl, arg, &st->error); r != -ENOENT) return r == 0 ? 0 : -1;
      }
      st->error = arg.starts_with("-") ? fmt::format("unknown option '{}' (see {} --help)", arg, cl.program)
                                       : fmt::format("unknown mount option '-o {}' (see {} --help)", arg, cl.program);
      return -1;
    case kHelp: cl.help = true; return 0;
    case kVersion: cl.version = true; return 0;
    case kForeground: cl.foreground = true; return 0;
    case kSingle: cl.single_thread = true; return 0;
    case kDebug: cl.debug = true; cl.foreground = true; return 1;  // libfuse traces requests
    case kCloneFd: cl.clone_fd = true; return 0;
    case kMaxThreads:
      if (!parse_uint(value_of(arg), &cl.max_threads) || cl.max_threads == 0 || cl.max_threads > 1000) {
        st->error = fmt::format("bad value in -o {}: expected 1 to 1000 threads", arg);
        return -1;
      }
      return 0;
    case kMaxIdle:
      return 0;  // idle threads are never destroyed: creating them again costs more than they hold
    case kMaxRead:
      if (!parse_uint(value_of(arg), &cl.max_read)) {
        st->error = fmt::format("bad value in -o {}: expected a byte count", arg);
        return -1;
      }
      return 1;
    case kFsname:
      cl.fsname = value_of(arg);
      return 1;
    case kSubtype:
      cl.subtype = value_of(arg);
      return 1;
    case kAllowOther: cl.allow_other = true; return 1;
    case kFlag:
      cl.flag_opts.emplace_back(arg);
      if (arg == "ro") cl.mount.read_only = true;
      else if (arg == "rw") cl.mount.read_only = false;
      return 1;
    case kAtimeFlag:
    case kAtime:
      cl.flag_opts.emplace_back(arg);
      st->atime.apply(arg);
      return key == kAtimeFlag ? 1 : 0;
    case kKeep: return 1;
    case kBlkdev: cl.blkdev = true; return 1;
    case kRemount: cl.remount = true; return 0;
    case kIgnore: return 0;
    case kNonempty: cl.nonempty = true; return 0;
  }
  return 1;
}

int proc(void* data, const char* arg, int key, struct fuse_args* /*outargs*/) {
  auto* st = static_cast<ParseState*>(data);
  try {
    return handle(st, arg, key);
  } catch (const std::exception&) {  // std::bad_alloc from a string: no exception crosses C code
    st->error = "out of memory while parsing options";
    return -1;
  }
}

}  // namespace

std::string options_help() {
  return "chainfs options:\n"
         "    -o ro / -o rw           mount read-only / read-write (default rw)\n"
         "    -o relatime|strictatime|noatime   access time updates as ext4 (default relatime;\n"
         "                            atime, norelatime, nostrictatime: the default)\n"
         "    -o nodiratime|diratime  no atime updates on directories / updates (default)\n"
         "    -o lazytime|nolazytime  accepted; timestamps stay in memory until write-back anyway\n"
         "    -o allow_other          let other users access the mount\n"
         "    -o blkdev               fuseblk mount (root, DEV a block device): umount\n"
         "                            returns once everything is on the device\n"
         "    -o fsname=NAME          mount source shown by df/findmnt (default: DEV);\n"
         "                            given without subtype=, the type is plain 'fuse'\n"
         "    -o subtype=TYPE         type fuse.TYPE (default chainfs)\n"
         "    -o nonempty             allow a mountpoint that is not empty\n"
         "    -o remount,ro|rw        switch a running mount (what mount -o remount sends)\n" +
         base::option_help(cache::engine_config_table()) + base::option_help(fuse::option_table()) +
         base::option_help(fs::mount_option_table());
}

std::string usage_line(const std::string& program) {
  return fmt::format("usage: {} DEV MOUNTPOINT [-o option[,option...]] [-f] [-d] [-s]\n", program);
}

int parse_command_line(int argc, char** argv, CommandLine* out, std::string* error) {
  CommandLine& cl = *out;
  if (argc > 0 && argv[0] && *argv[0]) {
    std::string_view a0(argv[0]);
    auto slash = a0.rfind('/');
    cl.program = std::string(slash == std::string_view::npos ? a0 : a0.substr(slash + 1));
  }
  // fuse_opt_parse writes its result into a fresh vector; argv itself is not modified.
  struct fuse_args in = FUSE_ARGS_INIT(argc, argv);
  ParseState st{&cl, {}, 0, {}};
  FuseArgs parsed;
  if (fuse_opt_parse(&in, &st, kTable, proc) != 0) {
    fuse_opt_free_args(&in);
    *error = st.error.empty() ? "cannot parse the command line" : st.error;
    return -EINVAL;
  }
  // fuse_opt_parse replaced in's vector with an allocated one; hand it to the RAII owner.
  *parsed.get() = in;
  cl.mount.atime = st.atime.mode();
  cl.mount.nodiratime = st.atime.nodiratime;
  if (cl.help || cl.version) {
    cl.session_args = std::move(parsed);
    return 0;
  }
  if (cl.device.empty()) {
    *error = fmt::format("missing device (usage: {} DEV MOUNTPOINT [-o opts])", cl.program);
    return -EINVAL;
  }
  if (cl.mountpoint.empty()) {
    *error = fmt::format("missing mountpoint (usage: {} DEV MOUNTPOINT [-o opts])", cl.program);
    return -EINVAL;
  }
  if (cl.remount) {
    cl.session_args = std::move(parsed);
    return 0;
  }
  // Conventions of FUSE filesystems: fsname=DEV so df/findmnt/umount DEV work; subtype=chainfs
  // unless the user chose fsname= alone, which real fstests needs (type plain "fuse").
  bool user_fsname = !cl.fsname.empty();
  bool user_subtype = !cl.subtype.empty();
  char* opts = nullptr;
  bool ok = true;
  if (!user_fsname) ok = fuse_opt_add_opt_escaped(&opts, ("fsname=" + cl.device).c_str()) == 0;
  if (ok && !user_fsname && !user_subtype) ok = fuse_opt_add_opt(&opts, "subtype=chainfs") == 0;
  if (ok) ok = fuse_opt_add_opt(&opts, "default_permissions") == 0;
  if (ok) ok = parsed.add("-o" + std::string(opts)) == 0;
  std::free(opts);
  if (!ok) {
    *error = "out of memory while parsing options";
    return -ENOMEM;
  }
  if (!user_fsname) {
    cl.fsname = cl.device;
    if (!user_subtype) cl.subtype = "chainfs";
  }
  // Consumes the connection options (max_write=, writeback_cache, ...); init() applies them.
  cl.conn_opts.reset(fuse_parse_conn_info_opts(parsed.get()));
  if (!cl.conn_opts) {
    *error = "bad connection option (see --help)";
    return -EINVAL;
  }
  cl.session_args = std::move(parsed);
  return 0;
}

}  // namespace chainfs::daemon
