// chainfs on a network block device: nbdkit (file plugin over an image) on a Unix socket,
// the tools given its nbd+unix:// URI, and a server that dies in the middle of a workload.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "test/integration/fixture.h"
#include "test/lib/nbdkit.h"

using namespace chainfs::test;

namespace {

// open + write + fsync + close; 0 or the errno of the first call that failed, and in *call
// which one it was.
int write_fsync(const std::string& path, const std::string& data, std::string* call) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *call = "open";
    return errno;
  }
  int e = 0;
  if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    *call = "write";
    e = errno ? errno : EIO;
  } else if (fsync(fd) != 0) {
    *call = "fsync";
    e = errno;
  }
  if (close(fd) != 0 && e == 0) {
    *call = "close";
    e = errno;
  }
  return e;
}

}  // namespace

TEST_CASE("NBD: mkfs, mount, core operations, unmount and fsck over nbd+unix") {
  TempImage img(256 << 20);
  Nbdkit server({"file", img.path()});
  const std::string uri = server.uri();
  auto r = run({mkfs_bin(), "-q", uri});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  r = run({mkfs_bin(), "-q", uri});
  CHECK(r.status != 0);  // the probe through the export sees the chainfs just made
  CHECK(r.err.find("contains a filesystem (chainfs)") != std::string::npos);
  TempDir dir;
  std::string data = pattern(3 << 20, 11);
  {
    Mount m(daemon_bin(), uri, dir.path(), with_env_opts("nbd_timeout=10"));
    auto info = mount_info(dir.path());
    REQUIRE(info.size() == 3);
    CHECK(info[0] == uri);
    CHECK(info[1] == "fuse.chainfs");
    CHECK(write_file(dir.path() + "/big", data) == 0);
    REQUIRE(mkdir((dir.path() + "/d").c_str(), 0755) == 0);
    CHECK(write_file(dir.path() + "/d/small", "hello") == 0);
    CHECK(rename((dir.path() + "/d/small").c_str(), (dir.path() + "/d/renamed").c_str()) == 0);
    CHECK(symlink("renamed", (dir.path() + "/d/link").c_str()) == 0);
    CHECK(read_file(dir.path() + "/d/link") == "hello");
    CHECK(read_file(dir.path() + "/big") == data);
    REQUIRE(m.unmount());
  }
  r = run({fsck_bin(), "-n", uri});
  CHECK_MESSAGE(r.status == 0, (r.out + r.err));
  Mount m(daemon_bin(), uri, dir.path());
  CHECK(read_file(dir.path() + "/big") == data);
  CHECK(read_file(dir.path() + "/d/renamed") == "hello");
}

TEST_CASE("NBD: mount(8) and an fstab line pass the URI through mount.fuse3") {
  TempImage img(128 << 20);
  Nbdkit server({"file", img.path()});
  const std::string uri = server.uri();
  REQUIRE(run({mkfs_bin(), "-q", uri}).status == 0);
  TempDir dir;
  // Type fuse with the daemon named in the source ("PROG#SOURCE"): mount.fuse3 runs this
  // build's daemon, where type fuse.chainfs would run the installed one; the source reaches
  // it the same way.
  std::string source = std::string(daemon_bin()) + "#" + uri;
  auto r = run({"mount", "-t", "fuse", source, dir.path(), "-o", "noatime,nbd_timeout=5"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  {
    Mount m(Mount::Adopt{}, dir.path());
    auto info = mount_info(dir.path());
    REQUIRE(info.size() == 3);
    CHECK(info[0] == uri);
    CHECK(info[2].find("noatime") != std::string::npos);
    CHECK(write_file(dir.path() + "/f", "via mount") == 0);
    REQUIRE(m.unmount());
  }
  TempImage tab_file(0);
  {
    std::ofstream tab(tab_file.path());
    tab << source << " " << dir.path() << " fuse defaults,nbd_timeout=5 0 0\n";
  }
  r = run({"mount", "--fstab", tab_file.path(), dir.path()});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  Mount m(Mount::Adopt{}, dir.path());
  CHECK(read_file(dir.path() + "/f") == "via mount");
}

TEST_CASE("NBD: the server killed mid-workload: EIO at the call that needed it, no hang, consistent after restart") {
  TempImage img(256 << 20);
  Nbdkit server({"file", img.path()});
  const std::string uri = server.uri();
  REQUIRE(run({mkfs_bin(), "-q", uri}).status == 0);
  TempDir dir;
  std::string durable = pattern(1 << 20, 21);
  std::vector<std::string> synced;  // files whose fsync succeeded
  std::string failed_call;
  int err = 0;
  {
    Mount m(daemon_bin(), uri, dir.path(), with_env_opts("nbd_timeout=2"));
    std::string call;
    REQUIRE(write_fsync(dir.path() + "/durable", durable, &call) == 0);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 400 && err == 0; ++i) {
      if (i == 5) server.kill();
      std::string name = "w" + std::to_string(i);
      err = write_fsync(dir.path() + "/" + name, pattern(256 << 10, static_cast<uint32_t>(i)), &failed_call);
      if (err == 0) synced.push_back(name);
    }
    auto took = std::chrono::steady_clock::now() - t0;
    MESSAGE("first failure: " << failed_call << " errno " << err << " after " << synced.size() << " files");
    CHECK(err == EIO);
    CHECK(took < std::chrono::seconds(60));  // failed cleanly, did not hang
    server.start();
    m.unmount();  // the daemon exits (its unmount flush may fail: the journal has the rest)
  }
  // Mounted again: the journal replays; everything fsync acknowledged is there.
  {
    Mount m(daemon_bin(), uri, dir.path());
    CHECK(read_file(dir.path() + "/durable") == durable);
    for (size_t i = 0; i < synced.size(); ++i) {
      CAPTURE(synced[i]);
      CHECK(read_file(dir.path() + "/" + synced[i]) == pattern(256 << 10, static_cast<uint32_t>(std::stoi(synced[i].substr(1)))));
    }
    REQUIRE(m.unmount());
  }
  auto r = run({fsck_bin(), "-n", uri});
  CHECK_MESSAGE(r.status == 0, (r.out + r.err));
}

TEST_CASE("NBD: with CHAINFS_TEST_DEVICE=nbd the shared fixture mounts an nbdkit export") {
  const char* kind = std::getenv("CHAINFS_TEST_DEVICE");
  TestFs fs(64 << 20);
  auto info = mount_info(fs.mnt());
  REQUIRE(info.size() == 3);
  CHECK(info[0] == fs.dev());
  CHECK((fs.dev().rfind("nbd+unix://", 0) == 0) == (kind && std::string(kind) == "nbd"));
}

TEST_CASE("NBD: one chainfs per export on this machine: a second mount is refused, umount + mount at once is safe") {
  TempImage img(128 << 20);
  Nbdkit server({"file", img.path()});
  const std::string uri = server.uri();
  REQUIRE(run({mkfs_bin(), "-q", uri}).status == 0);
  TempDir dir, other;
  auto m = std::make_unique<Mount>(daemon_bin(), uri, dir.path());
  auto r = run({daemon_bin(), uri, other.path()}, 60);
  CHECK(r.status == 32);
  CHECK(r.err.find("is in use") != std::string::npos);
  CHECK_FALSE(is_mounted(other.path()));
  r = run({mkfs_bin(), "-q", "-f", uri});
  CHECK(r.status != 0);
  // umount(8) returns before the daemon has written everything back; the next daemon waits
  // for the previous one's claim instead of writing beside it.
  for (int i = 0; i < 5; ++i) {
    CHECK(write_file(dir.path() + "/f" + std::to_string(i), pattern(1 << 20, static_cast<uint32_t>(i))) == 0);
    REQUIRE(run({"umount", dir.path()}).status == 0);
    m->disown();
    m = std::make_unique<Mount>(daemon_bin(), uri, dir.path());
  }
  for (int i = 0; i < 5; ++i) CHECK(read_file(dir.path() + "/f" + std::to_string(i)) == pattern(1 << 20, static_cast<uint32_t>(i)));
  REQUIRE(m->unmount());
  r = run({fsck_bin(), "-n", uri});
  CHECK_MESSAGE(r.status == 0, (r.out + r.err));
}
