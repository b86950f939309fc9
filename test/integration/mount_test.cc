// Mount life cycle: persistence across unmount/mount, umount DEV, cycle mounts, remount
// ro/rw, ENOSPC and recovery, fsname/subtype conventions, mount(8) and fstab, unclean
// unmount, cache=direct.
#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "test/integration/fixture.h"

using namespace chainfs::test;

namespace {

const std::vector<size_t> kSizes = {0, 1, 4095, 4096, 4097, (1 << 20) + 1, 17u << 20};

void write_tree(const TestFs& fs) {
  REQUIRE(mkdir(fs.p("dir").c_str(), 0750) == 0);
  for (size_t i = 0; i < kSizes.size(); ++i)
    REQUIRE(write_file(fs.p("dir/f" + std::to_string(i)), pattern(kSizes[i], static_cast<uint32_t>(i))) == 0);
  REQUIRE(symlink("dir/f1", fs.p("link").c_str()) == 0);
  REQUIRE(link(fs.p("dir/f2").c_str(), fs.p("hard").c_str()) == 0);
  REQUIRE(setxattr(fs.p("dir/f1").c_str(), "user.k", "value", 5, 0) == 0);
  REQUIRE(chmod(fs.p("dir/f3").c_str(), 0604) == 0);
}

void check_tree(const TestFs& fs) {
  for (size_t i = 0; i < kSizes.size(); ++i) {
    CAPTURE(i);
    CHECK(read_file(fs.p("dir/f" + std::to_string(i))) == pattern(kSizes[i], static_cast<uint32_t>(i)));
  }
  char buf[64];
  CHECK(readlink(fs.p("link").c_str(), buf, sizeof buf) == 6);
  struct stat a, b;
  REQUIRE(stat(fs.p("hard").c_str(), &a) == 0);
  REQUIRE(stat(fs.p("dir/f2").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK(a.st_nlink == 2);
  CHECK(getxattr(fs.p("dir/f1").c_str(), "user.k", buf, sizeof buf) == 5);
  REQUIRE(stat(fs.p("dir/f3").c_str(), &a) == 0);
  CHECK((a.st_mode & 07777) == 0604);
  REQUIRE(stat(fs.p("dir").c_str(), &a) == 0);
  CHECK((a.st_mode & 07777) == 0750);
}

bool installed_is_current() {
  try {
    return read_file("/usr/local/sbin/chainfs") == read_file(daemon_bin());
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

TEST_CASE("unmount then mount again: every byte, link, xattr and mode is back") {
  TestFs fs;
  write_tree(fs);
  auto r = fs.unmount_and_fsck();  // the daemon exited by itself after flushing
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  fs.mount();
  check_tree(fs);
}

TEST_CASE("umount DEV works because the mount source is the device") {
  TestFs fs;
  auto info = mount_info(fs.mnt());
  REQUIRE(info.size() == 3);
  CHECK(info[0] == fs.dev());
  CHECK(info[1] == "fuse.chainfs");
  CHECK(info[2].find("nosuid") != std::string::npos);
  REQUIRE(write_file(fs.p("f"), "x") == 0);
  auto r = run({"umount", fs.dev()});
  CHECK(r.status == 0);
  CHECK_FALSE(is_mounted(fs.mnt()));
  fs.mount();
  CHECK(read_file(fs.p("f")) == "x");
}

TEST_CASE("fsname= without subtype= mounts with type plain fuse (fstests)") {
  TestFs fs(64 << 20, "", false);
  fs.mount("fsname=" + fs.dev());
  auto info = mount_info(fs.mnt());
  REQUIRE(info.size() == 3);
  CHECK(info[0] == fs.dev());
  CHECK(info[1] == "fuse");
  fs.mount("fsname=custom-name,subtype=chainfs");
  info = mount_info(fs.mnt());
  REQUIRE(info.size() == 3);
  CHECK(info[0] == "custom-name");
  CHECK(info[1] == "fuse.chainfs");
}

TEST_CASE("cycle mount: umount then mount at once, 20 times") {
  TestFs fs(128 << 20);
  REQUIRE(write_file(fs.p("counter"), "0") == 0);
  for (int i = 1; i <= 20; ++i) {
    CAPTURE(i);
    fs.cycle();
    REQUIRE(read_file(fs.p("counter")) == std::to_string(i - 1));
    REQUIRE(write_file(fs.p("counter"), std::to_string(i)) == 0);
  }
  fs.cycle();
  CHECK(read_file(fs.p("counter")) == "20");
  auto r = fs.unmount_and_fsck();
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
}

TEST_CASE("remount ro -> rw -> ro through the daemon's own -o remount") {
  TestFs fs;
  REQUIRE(write_file(fs.p("f"), "before") == 0);
  auto r = run({daemon_bin(), fs.dev(), fs.mnt(), "-o", "remount,ro"});
  CHECK(r.status == 0);
  CHECK(r.err == "");
  REQUIRE(mount_info(fs.mnt()).size() == 3);
  CHECK(mount_info(fs.mnt())[2].rfind("ro,", 0) == 0);
  CHECK(write_file(fs.p("g"), "x") == EROFS);
  CHECK(read_file(fs.p("f")) == "before");
  CHECK(daemons_for(fs.mnt()).size() == 1);  // no second daemon
  r = run({daemon_bin(), fs.dev(), fs.mnt(), "-o", "remount,rw"});
  CHECK(r.status == 0);
  REQUIRE(mount_info(fs.mnt()).size() == 3);
  CHECK(mount_info(fs.mnt())[2].rfind("rw,", 0) == 0);
  CHECK(write_file(fs.p("g"), "after") == 0);
  r = run({daemon_bin(), fs.dev(), fs.mnt(), "-o", "ro,nosuid,nodev,relatime,remount,user_id=0,group_id=0"});
  CHECK(r.status == 0);
  CHECK(write_file(fs.p("h"), "x") == EROFS);
  CHECK(daemons_for(fs.mnt()).size() == 1);
  REQUIRE(fs.unmount());
  fs.mount();
  CHECK(read_file(fs.p("g")) == "after");
  // A remount of something that is not a chainfs mount is refused.
  TempDir plain;
  r = run({daemon_bin(), fs.dev(), plain.path(), "-o", "remount,ro"});
  CHECK(r.status == 32);
}

TEST_CASE("mounted -o ro, then remount,rw; max_read= as mount.fuse3 passes it") {
  TestFs fs(64 << 20, "", false);
  fs.mount("ro,max_read=131072");
  CHECK(write_file(fs.p("f"), "x") == EROFS);
  auto r = run({daemon_bin(), fs.dev(), fs.mnt(), "-o", "remount,rw"});
  CHECK(r.status == 0);
  CHECK(r.err == "");
  std::string data = pattern(1 << 20, 2);
  CHECK(write_file(fs.p("f"), data) == 0);
  CHECK(read_file(fs.p("f")) == data);  // reads in requests of at most 128 KiB
  REQUIRE(fs.unmount());
  fs.mount();
  CHECK(read_file(fs.p("f")) == data);
}

TEST_CASE("mount -t fuse.chainfs, remount and an fstab line, through mount.fuse3") {
  REQUIRE_MESSAGE(installed_is_current(),
                  "/usr/local/sbin/chainfs must be this build's daemon (scripts/build.sh installs it)");
  TestFs fs(128 << 20, "", false);
  auto r = run({"mount", "-t", "fuse.chainfs", fs.dev(), fs.mnt(), "-o", "noatime"});
  REQUIRE(r.status == 0);
  fs.adopt_mount();
  auto info = mount_info(fs.mnt());
  REQUIRE(info.size() == 3);
  CHECK(info[0] == fs.dev());
  CHECK(info[1] == "fuse.chainfs");
  CHECK(info[2].find("noatime") != std::string::npos);
  REQUIRE(write_file(fs.p("f"), "via mount") == 0);
  r = run({"mount", "-o", "remount,ro", fs.mnt()});
  CHECK(r.status == 0);
  CHECK(write_file(fs.p("g"), "x") == EROFS);
  CHECK(daemons_for(fs.mnt()).size() == 1);
  r = run({"mount", "-o", "remount,rw", fs.mnt()});
  CHECK(r.status == 0);
  CHECK(write_file(fs.p("g"), "x") == 0);
  r = run({"umount", fs.mnt()});
  CHECK(r.status == 0);
  // A failure is reported through mount(8): a second, busy device is not mountable here.
  TempImage zeros(64 << 20);
  r = run({"mount", "-t", "fuse.chainfs", zeros.path(), fs.mnt()});
  CHECK(r.status == 32);
  CHECK_FALSE(is_mounted(fs.mnt()));
  // fstab style: "DEV MNT fuse.chainfs defaults,allow_other 0 0", mounted by mountpoint.
  TempImage tab_file(0);
  {
    std::ofstream tab(tab_file.path());
    tab << fs.dev() << " " << fs.mnt() << " fuse.chainfs defaults,allow_other 0 0\n";
  }
  r = run({"mount", "--fstab", tab_file.path(), fs.mnt()});
  REQUIRE(r.status == 0);
  fs.adopt_mount();
  CHECK(read_file(fs.p("f")) == "via mount");
  info = mount_info(fs.mnt());
  REQUIRE(info.size() == 3);
  CHECK(info[1] == "fuse.chainfs");
}

TEST_CASE("fill to ENOSPC, delete, write again; the filesystem stays consistent") {
  for (std::string opts : {"cache=direct", ""}) {
    CAPTURE(opts);
    TestFs fs(64 << 20, opts);
    std::string chunk = pattern(1 << 20, 5);
    int fd = open(fs.p("fill").c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    int err = 0;
    for (int i = 0; i < 200 && err == 0; ++i) {
      ssize_t n = write(fd, chunk.data(), chunk.size());
      if (n < 0) err = errno;
      else if (fsync(fd) != 0) err = errno;  // writeback cache: the error surfaces here
    }
    close(fd);
    CHECK(err == ENOSPC);
    CHECK(write_file(fs.p("more"), chunk) == ENOSPC);
    REQUIRE(unlink(fs.p("fill").c_str()) == 0);
    unlink(fs.p("more").c_str());
    sync();
    CHECK(write_file(fs.p("again"), chunk) == 0);
    auto r = fs.unmount_and_fsck();
    CHECK_MESSAGE(r.status == 0, r.out, r.err);
    fs.mount();
    CHECK(read_file(fs.p("again")) == chunk);
  }
}

TEST_CASE("after an unclean end the next mount says so in one line") {
  TestFs fs(64 << 20);
  REQUIRE(write_file(fs.p("f"), "x") == 0);
  auto pids = daemons_for(fs.mnt());
  REQUIRE(pids.size() == 1);
  kill(pids[0], SIGKILL);
  for (int i = 0; i < 500 && !daemons_for(fs.mnt()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  fs.unmount();
  auto r = run({daemon_bin(), fs.dev(), fs.mnt()});
  REQUIRE(r.status == 0);
  fs.adopt_mount();
  CHECK(r.err.find("was not cleanly unmounted") != std::string::npos);
  CHECK(r.err.find("fsck.chainfs") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("SIGTERM to the daemon unmounts cleanly; the next mount finds a clean filesystem") {
  TestFs fs(64 << 20);
  REQUIRE(write_file(fs.p("f"), "kept") == 0);
  auto pids = daemons_for(fs.mnt());
  REQUIRE(pids.size() == 1);
  REQUIRE(kill(pids[0], SIGTERM) == 0);
  for (int i = 0; i < 1000 && !daemons_for(fs.mnt()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(daemons_for(fs.mnt()).empty());
  CHECK_FALSE(is_mounted(fs.mnt()));
  auto r = run({daemon_bin(), fs.dev(), fs.mnt()});
  REQUIRE(r.status == 0);
  fs.adopt_mount();
  CHECK(r.err == "");  // no "not cleanly unmounted"
  CHECK(read_file(fs.p("f")) == "kept");
}

TEST_CASE("-f stays in the foreground until unmounted; -d traces requests on stderr") {
  TestFs fs(64 << 20, "", false);
  for (const char* flag : {"-f", "-d"}) {
    CAPTURE(flag);
    RunResult result;
    std::thread daemon([&] { result = run({daemon_bin(), flag, fs.dev(), fs.mnt()}, 120); });
    bool mounted = false;
    for (int i = 0; i < 1000 && !(mounted = is_mounted(fs.mnt())); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(mounted);
    if (mounted) {
      CHECK(write_file(fs.p(std::string("f") + flag), "x") == 0);
      CHECK(run({"umount", fs.mnt()}).status == 0);
    }
    daemon.join();
    CHECK(result.status == 0);
    if (std::string(flag) == "-d") CHECK(result.err.find("unique:") != std::string::npos);
  }
}

TEST_CASE("many threads at once: creates, writes, reads, renames and unlinks stay consistent") {
  TestFs fs(256ull << 20);
  REQUIRE(mkdir(fs.p("shared").c_str(), 0755) == 0);
  constexpr int kThreads = 8, kFiles = 100;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFiles; ++i) {
        std::string name = fs.p("shared/t" + std::to_string(t) + "-" + std::to_string(i));
        std::string data = pattern(static_cast<size_t>(1000 + 97 * i), static_cast<uint32_t>(t * 1000 + i));
        if (write_file(name, data) != 0) ++failures[t];
        else if (read_file(name) != data) ++failures[t];
        if (i % 3 == 0 && rename(name.c_str(), (name + ".r").c_str()) != 0) ++failures[t];
        if (i % 3 == 1 && unlink(name.c_str()) != 0) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK(failures[t] == 0);
  DIR* d = opendir(fs.p("shared").c_str());
  REQUIRE(d != nullptr);
  int count = 0;
  while (dirent* e = readdir(d)) count += e->d_name[0] != '.';
  closedir(d);
  int per_thread = kFiles - (kFiles + 1) / 3;  // i % 3 == 1 were unlinked
  CHECK(count == kThreads * per_thread);
  auto r = fs.unmount_and_fsck();
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  fs.mount();
  CHECK(read_file(fs.p("shared/t3-0.r")) == pattern(1000, 3000));
  CHECK(read_file(fs.p("shared/t5-2")) == pattern(1000 + 97 * 2, 5002));
}

TEST_CASE("cache=direct: reads and writes bypass the page cache and stay correct") {
  TestFs fs(128 << 20, "cache=direct");
  std::string data = pattern((3 << 20) + 17, 11);
  REQUIRE(write_file(fs.p("f"), data) == 0);
  CHECK(read_file(fs.p("f")) == data);
  int fd = open(fs.p("f").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  CHECK(pwrite(fd, "abc", 3, 1) == 3);  // unaligned write inside a page
  char b[5];
  CHECK(pread(fd, b, 5, 0) == 5);
  CHECK(std::string(b + 1, 3) == "abc");
  close(fd);
}
