#include "tools/chainfs/cmdline.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

using namespace chainfs::daemon;

namespace {

struct Parsed {
  int rc = 0;
  std::string error;
  CommandLine cl;
  std::vector<std::string> args;  // what fuse_session_new would get
};

Parsed parse(std::vector<std::string> words) {
  Parsed p;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  p.rc = parse_command_line(static_cast<int>(words.size()), argv.data(), &p.cl, &p.error);
  p.args = p.cl.session_args.to_vector();
  return p;
}

// The comma-joined -o options that reach libfuse.
std::string session_opts(const Parsed& p) {
  std::string all;
  for (size_t i = 1; i < p.args.size(); ++i) {
    if (p.args[i] == "-o" && i + 1 < p.args.size()) all += p.args[++i] + ",";
    else if (p.args[i].rfind("-o", 0) == 0) all += p.args[i].substr(2) + ",";
    else all += p.args[i] + ",";
  }
  return all;
}

bool has_opt(const Parsed& p, const std::string& opt) {
  std::string all = "," + session_opts(p);
  return all.find("," + opt + ",") != std::string::npos;
}

}  // namespace

TEST_CASE("device and mountpoint are taken out; defaults fsname=DEV,subtype=chainfs") {
  auto p = parse({"/usr/sbin/chainfs", "/dev/loop3", "/mnt/x"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.program == "chainfs");
  CHECK(p.cl.device == "/dev/loop3");
  CHECK(p.cl.mountpoint == "/mnt/x");
  CHECK(p.cl.fsname == "/dev/loop3");
  CHECK(p.cl.subtype == "chainfs");
  CHECK(has_opt(p, "fsname=/dev/loop3"));
  CHECK(has_opt(p, "subtype=chainfs"));
  CHECK(has_opt(p, "default_permissions"));
  CHECK_FALSE(p.cl.foreground);
  CHECK_FALSE(p.cl.mount.read_only);
  CHECK(p.cl.mount.atime == chainfs::fs::AtimeMode::kRelatime);
  CHECK(p.cl.max_threads == 10);
  // Neither the device nor the mountpoint reaches libfuse, which takes one non-option only.
  CHECK(std::find(p.args.begin(), p.args.end(), "/dev/loop3") == p.args.end());
  CHECK(std::find(p.args.begin(), p.args.end(), "/mnt/x") == p.args.end());
}

TEST_CASE("fsname= without subtype= gives plain type fuse (fstests)") {
  auto p = parse({"chainfs", "img", "mnt", "-o", "fsname=/dev/loop0,allow_other"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.fsname == "/dev/loop0");
  CHECK(p.cl.subtype.empty());
  CHECK_FALSE(has_opt(p, "subtype=chainfs"));
  CHECK(has_opt(p, "fsname=/dev/loop0"));
  CHECK_FALSE(has_opt(p, "fsname=img"));
  CHECK(p.cl.allow_other);
  CHECK(has_opt(p, "allow_other"));
}

TEST_CASE("fsname= with subtype= keeps both; subtype= alone gets fsname=DEV") {
  auto p = parse({"chainfs", "img", "mnt", "-o", "fsname=x,subtype=chainfs"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.subtype == "chainfs");
  auto q = parse({"chainfs", "img", "mnt", "-o", "subtype=other"});
  REQUIRE(q.rc == 0);
  CHECK(has_opt(q, "fsname=img"));
  CHECK(has_opt(q, "subtype=other"));
  CHECK_FALSE(has_opt(q, "subtype=chainfs"));
}

TEST_CASE("a device name with a comma is escaped for libfuse") {
  auto p = parse({"chainfs", "/tmp/a,b.img", "mnt"});
  REQUIRE(p.rc == 0);
  CHECK(session_opts(p).find("fsname=/tmp/a\\,b.img") != std::string::npos);
}

TEST_CASE("what mount.fuse3 passes is accepted") {
  auto p = parse({"chainfs", "IMG", "MNT", "-o", "rw,noatime,allow_other,max_read=131072,dev,suid"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.mount.atime == chainfs::fs::AtimeMode::kNoatime);
  CHECK(p.cl.max_read == 131072);
  CHECK(has_opt(p, "noatime"));
  CHECK(has_opt(p, "dev"));
  CHECK(has_opt(p, "suid"));
  auto q = parse({"chainfs", "IMG", "MNT", "-o", "ro,dev,suid"});
  REQUIRE(q.rc == 0);
  CHECK(q.cl.mount.read_only);
  CHECK(has_opt(q, "ro"));
  auto s = parse({"chainfs", "IMG", "MNT", "-o", "strictatime,nodev,nosuid,noexec,sync,dirsync,async,exec"});
  REQUIRE(s.rc == 0);
  CHECK(s.cl.mount.atime == chainfs::fs::AtimeMode::kStrictatime);
}

TEST_CASE("every access-time option is accepted and combines as the kernel combines them") {
  using chainfs::fs::AtimeMode;
  struct Case {
    const char* opts;
    AtimeMode mode;
    bool nodiratime;
  };
  // What ext4 shows in mountinfo for the same -o list.
  const Case cases[] = {
      {"relatime", AtimeMode::kRelatime, false},         {"strictatime", AtimeMode::kStrictatime, false},
      {"noatime", AtimeMode::kNoatime, false},           {"atime", AtimeMode::kRelatime, false},
      {"norelatime", AtimeMode::kRelatime, false},       {"nostrictatime", AtimeMode::kRelatime, false},
      {"nodiratime", AtimeMode::kRelatime, true},        {"diratime", AtimeMode::kRelatime, false},
      {"lazytime", AtimeMode::kRelatime, false},         {"nolazytime", AtimeMode::kRelatime, false},
      {"noatime,relatime", AtimeMode::kNoatime, false},  {"strictatime,noatime", AtimeMode::kStrictatime, false},
      {"noatime,atime", AtimeMode::kRelatime, false},    {"strictatime,nostrictatime", AtimeMode::kRelatime, false},
      {"nodiratime,diratime", AtimeMode::kRelatime, false}, {"strictatime,nodiratime", AtimeMode::kStrictatime, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.opts);
    auto p = parse({"chainfs", "IMG", "MNT", "-o", c.opts});
    REQUIRE(p.rc == 0);
    CHECK(p.cl.mount.atime == c.mode);
    CHECK(p.cl.mount.nodiratime == c.nodiratime);
  }
  // libfuse 3.14 refuses all but atime/noatime: the daemon keeps the others to itself, and
  // remembers all of them for a remount.
  auto p = parse({"chainfs", "IMG", "MNT", "-o", "relatime,strictatime,nodiratime,lazytime,noatime"});
  REQUIRE(p.rc == 0);
  CHECK(has_opt(p, "noatime"));
  for (const char* o : {"relatime", "strictatime", "nodiratime", "lazytime"}) CHECK_FALSE(has_opt(p, o));
  CHECK(p.cl.flag_opts == std::vector<std::string>{"relatime", "strictatime", "nodiratime", "lazytime", "noatime"});
}

TEST_CASE("remount arrives with user_id/group_id, which are ignored") {
  auto p = parse({"chainfs", "IMG", "MNT", "-o", "ro,nosuid,nodev,relatime,remount,user_id=0,group_id=0"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.remount);
  CHECK(p.cl.mount.read_only);
  CHECK(p.cl.flag_opts == std::vector<std::string>{"ro", "nosuid", "nodev", "relatime"});
  auto q = parse({"chainfs", "IMG", "MNT", "-o", "remount,rw"});
  REQUIRE(q.rc == 0);
  CHECK(q.cl.remount);
  CHECK_FALSE(q.cl.mount.read_only);
}

TEST_CASE("chainfs's own keys are consumed and validated") {
  auto p = parse({"chainfs", "IMG", "MNT", "-o",
                  "write_strategy=sync,completion=inline,cache=direct,page_alloc=percpu,read_strategy=page",
                  "-o", "cache_size=1G,stats=/tmp/st.json,flush_interval=9,compound_fallback,nbd_timeout=4"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.engine.cache.write == chainfs::cache::WriteStrategy::kSync);
  CHECK(p.cl.engine.io.completion == chainfs::io::CompletionMode::kInline);
  CHECK(p.cl.options.cache == chainfs::fuse::CacheMode::kDirect);
  CHECK(p.cl.engine.pool.kind == chainfs::mem::PoolKind::kPercpu);
  CHECK(p.cl.engine.cache.read == chainfs::cache::ReadStrategy::kPage);
  CHECK(p.cl.engine.pool.byte_cap == (1ull << 30));
  CHECK(p.cl.mount.stats_path == "/tmp/st.json");
  CHECK(p.cl.mount.flush_interval_s == 9);
  CHECK(p.cl.mount.force_compound_fallback);
  CHECK(p.cl.engine.io.nbd_timeout_s == 4);
  CHECK(session_opts(p).find("nbd_timeout") == std::string::npos);
  CHECK(session_opts(p).find("write_strategy") == std::string::npos);
  CHECK(session_opts(p).find("compound_fallback") == std::string::npos);
  CHECK(session_opts(p).find("cache") == std::string::npos);
  auto bad = parse({"chainfs", "IMG", "MNT", "-o", "cache=sometimes"});
  CHECK(bad.rc == -EINVAL);
  CHECK(bad.error == "bad value in -o cache=sometimes: expected direct|kernel");
}

TEST_CASE("connection options are consumed by fuse_parse_conn_info_opts") {
  auto p = parse({"chainfs", "IMG", "MNT", "-o", "max_write=131072,writeback_cache,time_gran=1"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.conn_opts != nullptr);
  CHECK(session_opts(p).find("max_write") == std::string::npos);
  CHECK(session_opts(p).find("writeback_cache") == std::string::npos);
}

TEST_CASE("foreground, debug, single thread and thread count") {
  auto p = parse({"chainfs", "-f", "-s", "IMG", "MNT", "-o", "max_threads=4,clone_fd,max_idle_threads=3"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.foreground);
  CHECK(p.cl.single_thread);
  CHECK(p.cl.clone_fd);
  CHECK(p.cl.max_threads == 4);
  CHECK(session_opts(p).find("max_idle") == std::string::npos);
  auto d = parse({"chainfs", "IMG", "MNT", "-d"});
  REQUIRE(d.rc == 0);
  CHECK(d.cl.debug);
  CHECK(d.cl.foreground);  // -d implies -f, as in libfuse
  CHECK(parse({"chainfs", "IMG", "MNT", "-o", "max_threads=0"}).rc == -EINVAL);
}

TEST_CASE("unknown options, missing and extra arguments are one-line usage errors") {
  auto u = parse({"chainfs", "IMG", "MNT", "-o", "rw,bogus"});
  CHECK(u.rc == -EINVAL);
  CHECK(u.error == "unknown mount option '-o bogus' (see chainfs --help)");
  auto f = parse({"chainfs", "--frobnicate", "IMG", "MNT"});
  CHECK(f.rc == -EINVAL);
  CHECK(f.error == "unknown option '--frobnicate' (see chainfs --help)");
  auto m = parse({"chainfs"});
  CHECK(m.rc == -EINVAL);
  CHECK(m.error.rfind("missing device", 0) == 0);
  auto mm = parse({"chainfs", "IMG"});
  CHECK(mm.rc == -EINVAL);
  CHECK(mm.error.rfind("missing mountpoint", 0) == 0);
  auto x = parse({"chainfs", "IMG", "MNT", "extra"});
  CHECK(x.rc == -EINVAL);
  CHECK(x.error.rfind("unexpected argument 'extra'", 0) == 0);
  for (auto* e : {&u, &f, &m, &mm, &x}) CHECK(e->error.find('\n') == std::string::npos);
}

TEST_CASE("--help and --version need no device") {
  auto h = parse({"chainfs", "--help"});
  CHECK(h.rc == 0);
  CHECK(h.cl.help);
  auto v = parse({"chainfs", "-V"});
  CHECK(v.rc == 0);
  CHECK(v.cl.version);
}

TEST_CASE("nonempty is chainfs's check, not passed to libfuse") {
  auto p = parse({"chainfs", "IMG", "MNT", "-o", "nonempty"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.nonempty);
  CHECK_FALSE(has_opt(p, "nonempty"));
}

TEST_CASE("blkdev is remembered and passed to libfuse; acl is accepted and consumed") {
  auto p = parse({"chainfs", "/dev/loop0", "MNT", "-o", "blkdev,acl"});
  REQUIRE(p.rc == 0);
  CHECK(p.cl.blkdev);
  CHECK(has_opt(p, "blkdev"));
  CHECK_FALSE(has_opt(p, "acl"));
  CHECK_FALSE(parse({"chainfs", "/dev/loop0", "MNT"}).cl.blkdev);
  CHECK(parse({"chainfs", "IMG", "MNT", "-o", "noacl"}).rc != 0);  // as ext4: ACLs cannot be turned off
}
