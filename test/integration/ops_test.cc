// Every FUSE operation through real system calls on a mounted chainfs, with its errno
// cases. One TestFs (image, loop device, mount) per test case.
#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "test/integration/fixture.h"

using namespace chainfs::test;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st;
}

std::set<std::string> list_dir(const std::string& path) {
  std::set<std::string> names;
  DIR* d = opendir(path.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) names.insert(e->d_name);
  closedir(d);
  return names;
}

mode_t umask_of() {
  mode_t m = umask(0);
  umask(m);
  return m;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

TEST_CASE("files: create, write, read, O_APPEND, O_TRUNC, truncate, O_EXCL") {
  TestFs fs;
  CHECK(write_file(fs.p("f"), "hello world") == 0);
  CHECK(read_file(fs.p("f")) == "hello world");
  CHECK(stat_of(fs.p("f")).st_size == 11);
  CHECK(write_file(fs.p("f"), "!", O_APPEND) == 0);
  CHECK(read_file(fs.p("f")) == "hello world!");
  CHECK(write_file(fs.p("f"), "new", O_TRUNC) == 0);
  CHECK(read_file(fs.p("f")) == "new");
  CHECK(errno_of(truncate(fs.p("f").c_str(), 10)) == 0);
  CHECK(read_file(fs.p("f")) == std::string("new") + std::string(7, '\0'));
  {
    Fd fd(open(fs.p("f").c_str(), O_RDWR));
    REQUIRE(fd.fd >= 0);
    CHECK(ftruncate(fd.fd, 2) == 0);
    struct stat st;
    CHECK(fstat(fd.fd, &st) == 0);
    CHECK(st.st_size == 2);
    CHECK(pwrite(fd.fd, "Z", 1, 8192) == 1);  // a hole between 2 and 8192
  }
  std::string s = read_file(fs.p("f"));
  CHECK(s.size() == 8193);
  CHECK(s.substr(0, 2) == "ne");
  CHECK(s.substr(2, 8190) == std::string(8190, '\0'));
  CHECK(s[8192] == 'Z');
  CHECK(errno_of(open(fs.p("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)) == EEXIST);
  CHECK(errno_of(open(fs.p("missing").c_str(), O_RDONLY)) == ENOENT);
  CHECK(errno_of(open(fs.p("nodir/f").c_str(), O_CREAT | O_WRONLY, 0644)) == ENOENT);
  CHECK(errno_of(open(fs.p("f/x").c_str(), O_CREAT | O_WRONLY, 0644)) == ENOTDIR);
  // A large write and read in 1 MiB requests.
  std::string big = pattern((8 << 20) + 123, 7);
  CHECK(write_file(fs.p("big"), big) == 0);
  CHECK(read_file(fs.p("big")) == big);
}

TEST_CASE("directories: mkdir, rmdir, readdir and their errors") {
  TestFs fs;
  CHECK(errno_of(mkdir(fs.p("d").c_str(), 0755)) == 0);
  CHECK(S_ISDIR(stat_of(fs.p("d")).st_mode));
  CHECK(errno_of(mkdir(fs.p("d").c_str(), 0755)) == EEXIST);
  CHECK(write_file(fs.p("d/f"), "x") == 0);
  CHECK(errno_of(rmdir(fs.p("d").c_str())) == ENOTEMPTY);
  CHECK(errno_of(rmdir(fs.p("d/f").c_str())) == ENOTDIR);
  CHECK(errno_of(unlink(fs.p("d").c_str())) == EISDIR);
  CHECK(errno_of(open(fs.p("d").c_str(), O_WRONLY)) == EISDIR);
  CHECK(errno_of(rmdir(fs.p("missing").c_str())) == ENOENT);
  CHECK(stat_of(fs.mnt()).st_nlink == 3);  // ., .. and d/..
  CHECK(errno_of(unlink(fs.p("d/f").c_str())) == 0);
  CHECK(errno_of(rmdir(fs.p("d").c_str())) == 0);
  CHECK(errno_of(access(fs.p("d").c_str(), F_OK)) == ENOENT);
  // readdir(plus) over more entries than one reply holds; every name exactly once.
  REQUIRE(errno_of(mkdir(fs.p("many").c_str(), 0755)) == 0);
  std::set<std::string> want{".", ".."};
  for (int i = 0; i < 1500; ++i) {
    std::string n = "entry-with-a-longish-name-" + std::to_string(i);
    REQUIRE(write_file(fs.p("many/" + n), "") == 0);
    want.insert(n);
  }
  CHECK(list_dir(fs.p("many")) == want);
  // Entries listed with readdirplus are usable at once.
  CHECK(stat_of(fs.p("many/entry-with-a-longish-name-1499")).st_size == 0);
}

TEST_CASE("names of 255 bytes work, 256 bytes give ENAMETOOLONG") {
  TestFs fs;
  std::string n255(255, 'a'), n256(256, 'b');
  CHECK(write_file(fs.p(n255), "x") == 0);
  CHECK(read_file(fs.p(n255)) == "x");
  CHECK(list_dir(fs.mnt()).count(n255) == 1);
  CHECK(write_file(fs.p(n256), "x") == ENAMETOOLONG);
  CHECK(errno_of(mkdir(fs.p(n256).c_str(), 0755)) == ENAMETOOLONG);
}

TEST_CASE("hard links: link counts, EEXIST, EPERM on directories") {
  TestFs fs;
  REQUIRE(write_file(fs.p("a"), "data") == 0);
  CHECK(errno_of(link(fs.p("a").c_str(), fs.p("b").c_str())) == 0);
  CHECK(stat_of(fs.p("a")).st_nlink == 2);
  CHECK(stat_of(fs.p("a")).st_ino == stat_of(fs.p("b")).st_ino);
  CHECK(read_file(fs.p("b")) == "data");
  CHECK(errno_of(link(fs.p("a").c_str(), fs.p("b").c_str())) == EEXIST);
  REQUIRE(errno_of(mkdir(fs.p("d").c_str(), 0755)) == 0);
  CHECK(errno_of(link(fs.p("d").c_str(), fs.p("d2").c_str())) == EPERM);
  CHECK(errno_of(unlink(fs.p("a").c_str())) == 0);
  CHECK(stat_of(fs.p("b")).st_nlink == 1);
  CHECK(read_file(fs.p("b")) == "data");
}

TEST_CASE("symlinks: readlink, lstat, following, ELOOP") {
  TestFs fs;
  REQUIRE(write_file(fs.p("target"), "T") == 0);
  CHECK(errno_of(symlink("target", fs.p("s").c_str())) == 0);
  char buf[256];
  ssize_t n = readlink(fs.p("s").c_str(), buf, sizeof buf);
  REQUIRE(n == 6);
  CHECK(std::string(buf, 6) == "target");
  CHECK(S_ISLNK(stat_of(fs.p("s")).st_mode));
  CHECK(read_file(fs.p("s")) == "T");
  std::string longt(1000, 'x');  // longer than an inline target
  CHECK(errno_of(symlink(longt.c_str(), fs.p("long").c_str())) == 0);
  n = readlink(fs.p("long").c_str(), buf, 0 + sizeof buf);
  CHECK(n == 256);  // truncated to the buffer, as readlink(2) does
  CHECK(errno_of(symlink("loop2", fs.p("loop1").c_str())) == 0);
  CHECK(errno_of(symlink("loop1", fs.p("loop2").c_str())) == 0);
  CHECK(errno_of(open(fs.p("loop1").c_str(), O_RDONLY)) == ELOOP);
  CHECK(errno_of(symlink("x", fs.p("s").c_str())) == EEXIST);
  CHECK(errno_of(readlink(fs.p("target").c_str(), buf, sizeof buf)) == EINVAL);
}

TEST_CASE("mknod: fifo and socket nodes") {
  TestFs fs;
  CHECK(errno_of(mkfifo(fs.p("fifo").c_str(), 0600)) == 0);
  CHECK(S_ISFIFO(stat_of(fs.p("fifo")).st_mode));
  CHECK(errno_of(mknod(fs.p("sock").c_str(), S_IFSOCK | 0600, 0)) == 0);
  CHECK(S_ISSOCK(stat_of(fs.p("sock")).st_mode));
  CHECK(errno_of(mknod(fs.p("chr").c_str(), S_IFCHR | 0600, makedev(1, 3))) == 0);
  auto st = stat_of(fs.p("chr"));
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(1, 3));
}

TEST_CASE("rename: over files, over empty directories, NOREPLACE, EXCHANGE, errors") {
  TestFs fs;
  REQUIRE(write_file(fs.p("a"), "A") == 0);
  REQUIRE(write_file(fs.p("b"), "B") == 0);
  CHECK(errno_of(rename(fs.p("a").c_str(), fs.p("b").c_str())) == 0);
  CHECK(read_file(fs.p("b")) == "A");
  CHECK(errno_of(access(fs.p("a").c_str(), F_OK)) == ENOENT);
  REQUIRE(write_file(fs.p("c"), "C") == 0);
  CHECK(errno_of(renameat2(AT_FDCWD, fs.p("c").c_str(), AT_FDCWD, fs.p("b").c_str(), RENAME_NOREPLACE)) == EEXIST);
  CHECK(errno_of(renameat2(AT_FDCWD, fs.p("c").c_str(), AT_FDCWD, fs.p("b").c_str(), RENAME_EXCHANGE)) == 0);
  CHECK(read_file(fs.p("b")) == "C");
  CHECK(read_file(fs.p("c")) == "A");
  REQUIRE(errno_of(mkdir(fs.p("d1").c_str(), 0755)) == 0);
  REQUIRE(errno_of(mkdir(fs.p("d2").c_str(), 0755)) == 0);
  REQUIRE(write_file(fs.p("d1/inside"), "i") == 0);
  CHECK(errno_of(rename(fs.p("d1").c_str(), fs.p("d2").c_str())) == 0);  // over an empty dir
  CHECK(read_file(fs.p("d2/inside")) == "i");
  REQUIRE(errno_of(mkdir(fs.p("d3").c_str(), 0755)) == 0);
  CHECK(errno_of(rename(fs.p("d3").c_str(), fs.p("d2").c_str())) == ENOTEMPTY);
  CHECK(errno_of(rename(fs.p("b").c_str(), fs.p("d3").c_str())) == EISDIR);
  CHECK(errno_of(rename(fs.p("d3").c_str(), fs.p("b").c_str())) == ENOTDIR);
  CHECK(errno_of(rename(fs.p("d2").c_str(), fs.p("d2/sub").c_str())) == EINVAL);
  CHECK(errno_of(rename(fs.p("missing").c_str(), fs.p("x").c_str())) == ENOENT);
  // Across directories, and the moved directory's ".." follows.
  CHECK(errno_of(rename(fs.p("d3").c_str(), fs.p("d2/d3").c_str())) == 0);
  CHECK(stat_of(fs.p("d2/d3/..")).st_ino == stat_of(fs.p("d2")).st_ino);
  CHECK(stat_of(fs.p("d2")).st_nlink == 3);
}

TEST_CASE("attributes: chmod, chown, utimensat with UTIME_NOW and UTIME_OMIT, statfs") {
  TestFs fs;
  REQUIRE(write_file(fs.p("f"), "x") == 0);
  CHECK(errno_of(chmod(fs.p("f").c_str(), 04751)) == 0);
  CHECK((stat_of(fs.p("f")).st_mode & 07777) == 04751);
  CHECK(errno_of(chown(fs.p("f").c_str(), 1234, 5678)) == 0);
  auto st = stat_of(fs.p("f"));
  CHECK(st.st_uid == 1234);
  CHECK(st.st_gid == 5678);
  CHECK((st.st_mode & 06000) == 0);  // chown clears setuid
  struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  CHECK(errno_of(utimensat(AT_FDCWD, fs.p("f").c_str(), ts, 0)) == 0);
  st = stat_of(fs.p("f"));
  CHECK(st.st_atim.tv_sec == 1000000000);
  CHECK(st.st_atim.tv_nsec == 123456789);
  CHECK(st.st_mtim.tv_sec == 1100000000);
  CHECK(st.st_mtim.tv_nsec == 987654321);
  struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  time_t before = time(nullptr);
  CHECK(errno_of(utimensat(AT_FDCWD, fs.p("f").c_str(), omit_now, 0)) == 0);
  st = stat_of(fs.p("f"));
  CHECK(st.st_atim.tv_sec == 1000000000);  // omitted
  CHECK(st.st_mtim.tv_sec >= before);
  CHECK(st.st_mtim.tv_sec <= time(nullptr) + 1);
  struct statvfs sv;
  REQUIRE(statvfs(fs.mnt().c_str(), &sv) == 0);
  CHECK(sv.f_bsize == 4096);
  CHECK(sv.f_blocks > 0);
  CHECK(sv.f_bfree <= sv.f_blocks);
  CHECK(sv.f_namemax == 255);
  CHECK(sv.f_files > 0);
}

TEST_CASE("xattrs: set, get, list, remove and their errors") {
  TestFs fs;
  REQUIRE(write_file(fs.p("f"), "x") == 0);
  std::string f = fs.p("f");
  CHECK(errno_of(setxattr(f.c_str(), "user.one", "1", 1, 0)) == 0);
  CHECK(errno_of(setxattr(f.c_str(), "user.one", "1", 1, XATTR_CREATE)) == EEXIST);
  CHECK(errno_of(setxattr(f.c_str(), "user.two", "2", 1, XATTR_REPLACE)) == ENODATA);
  std::string big = pattern(60000, 3);
  CHECK(errno_of(setxattr(f.c_str(), "user.big", big.data(), big.size(), 0)) == 0);
  CHECK(errno_of(setxattr(f.c_str(), "trusted.t", "t", 1, 0)) == 0);
  char buf[65536];
  CHECK(getxattr(f.c_str(), "user.one", buf, sizeof buf) == 1);
  CHECK(getxattr(f.c_str(), "user.big", nullptr, 0) == 60000);
  REQUIRE(getxattr(f.c_str(), "user.big", buf, sizeof buf) == 60000);
  CHECK(std::string(buf, 60000) == big);
  CHECK(errno_of(static_cast<int>(getxattr(f.c_str(), "user.big", buf, 10))) == ERANGE);
  CHECK(errno_of(static_cast<int>(getxattr(f.c_str(), "user.none", buf, sizeof buf))) == ENODATA);
  ssize_t n = listxattr(f.c_str(), buf, sizeof buf);
  REQUIRE(n > 0);
  std::set<std::string> names;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(buf + i)) + 1) names.insert(buf + i);
  CHECK(names == std::set<std::string>{"user.one", "user.big", "trusted.t"});
  CHECK(listxattr(f.c_str(), nullptr, 0) == n);
  CHECK(errno_of(removexattr(f.c_str(), "user.one")) == 0);
  CHECK(errno_of(removexattr(f.c_str(), "user.one")) == ENODATA);
  CHECK(errno_of(setxattr(f.c_str(), "bogus.ns", "1", 1, 0)) == EOPNOTSUPP);
}

TEST_CASE("an unlinked file stays readable and writable until its last close") {
  TestFs fs;
  std::string data = pattern(300000, 9);
  REQUIRE(write_file(fs.p("f"), data) == 0);
  Fd fd(open(fs.p("f").c_str(), O_RDWR));
  REQUIRE(fd.fd >= 0);
  REQUIRE(unlink(fs.p("f").c_str()) == 0);
  CHECK(errno_of(access(fs.p("f").c_str(), F_OK)) == ENOENT);
  struct stat st;
  REQUIRE(fstat(fd.fd, &st) == 0);
  CHECK(st.st_nlink == 0);
  std::string back(data.size(), '\0');
  CHECK(pread(fd.fd, back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()));
  CHECK(back == data);
  CHECK(pwrite(fd.fd, "tail", 4, 300000) == 4);
  char t[4];
  CHECK(pread(fd.fd, t, 4, 300000) == 4);
  CHECK(std::string(t, 4) == "tail");
}

TEST_CASE("O_TMPFILE: an unnamed file, linked in with linkat, or gone at its last close") {
  TestFs fs;
  REQUIRE(mkdir(fs.p("d").c_str(), 0755) == 0);
  std::string data = pattern(200000, 4);
  {
    Fd fd(open(fs.p("d").c_str(), O_TMPFILE | O_RDWR, 0640));
    REQUIRE(fd.fd >= 0);
    struct stat st;
    REQUIRE(fstat(fd.fd, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == (0640 & ~umask_of()));
    CHECK(st.st_nlink == 0);
    CHECK(list_dir(fs.p("d")) == std::set<std::string>{".", ".."});
    REQUIRE(pwrite(fd.fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
    std::string proc = "/proc/self/fd/" + std::to_string(fd.fd);
    REQUIRE(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, fs.p("d/named").c_str(), AT_SYMLINK_FOLLOW) == 0);
    REQUIRE(fstat(fd.fd, &st) == 0);
    CHECK(st.st_nlink == 1);
  }
  {
    // O_EXCL: the file can never get a name.
    Fd fd(open(fs.p("d").c_str(), O_TMPFILE | O_WRONLY | O_EXCL, 0600));
    REQUIRE(fd.fd >= 0);
    CHECK(write(fd.fd, "x", 1) == 1);
    std::string proc = "/proc/self/fd/" + std::to_string(fd.fd);
    CHECK(errno_of(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, fs.p("d/never").c_str(), AT_SYMLINK_FOLLOW)) == ENOENT);
  }
  {
    // Never linked: its blocks and its inode go at the last close.
    Fd fd(open(fs.p("d").c_str(), O_TMPFILE | O_RDWR, 0600));
    REQUIRE(fd.fd >= 0);
    CHECK(pwrite(fd.fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  }
  CHECK(errno_of(open(fs.p("d/named").c_str(), O_TMPFILE | O_RDWR, 0600)) == ENOTDIR);
  CHECK(list_dir(fs.p("d")) == std::set<std::string>{".", "..", "named"});
  CHECK(read_file(fs.p("d/named")) == data);
  CHECK(stat_of(fs.p("d/named")).st_nlink == 1);
  auto r = fs.unmount_and_fsck();
  CHECK_MESSAGE(r.status == 0, r.out);
  fs.mount();
  CHECK(read_file(fs.p("d/named")) == data);
}

TEST_CASE("fsync, fdatasync, syncfs, fallocate and SEEK_DATA/SEEK_HOLE") {
  TestFs fs;
  Fd fd(open(fs.p("f").c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.fd >= 0);
  CHECK(pwrite(fd.fd, "x", 1, 0) == 1);
  CHECK(fsync(fd.fd) == 0);
  CHECK(fdatasync(fd.fd) == 0);
  CHECK(syncfs(fd.fd) == 0);
  CHECK(fallocate(fd.fd, 0, 0, 1 << 20) == 0);
  struct stat st;
  REQUIRE(fstat(fd.fd, &st) == 0);
  CHECK(st.st_size == 1 << 20);
  CHECK(fallocate(fd.fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) == 0);
  REQUIRE(fstat(fd.fd, &st) == 0);
  CHECK(st.st_size == 1 << 20);
  CHECK(st.st_blocks >= (2 << 20) / 512);
  // Data at 0..4K and 3M..3M+4K, a hole between.
  std::string page(4096, 'd');
  REQUIRE(ftruncate(fd.fd, 0) == 0);
  REQUIRE(pwrite(fd.fd, page.data(), page.size(), 0) == 4096);
  REQUIRE(pwrite(fd.fd, page.data(), page.size(), 3 << 20) == 4096);
  REQUIRE(fsync(fd.fd) == 0);
  CHECK(lseek(fd.fd, 0, SEEK_DATA) == 0);
  CHECK(lseek(fd.fd, 0, SEEK_HOLE) == 4096);
  CHECK(lseek(fd.fd, 4096, SEEK_DATA) == 3 << 20);
  CHECK(errno_of(static_cast<int>(lseek(fd.fd, (3 << 20) + 8192, SEEK_DATA))) == ENXIO);
  CHECK(fallocate(fd.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 << 20, 4096) == 0);
  char c = 1;
  CHECK(pread(fd.fd, &c, 1, 3 << 20) == 1);
  CHECK(c == 0);
  CHECK(fallocate(fd.fd, FALLOC_FL_ZERO_RANGE, 0, 100) == 0);
  CHECK(pread(fd.fd, &c, 1, 50) == 1);
  CHECK(c == 0);
  CHECK(pread(fd.fd, &c, 1, 100) == 1);
  CHECK(c == 'd');
}

TEST_CASE("permissions as a non-root user (default_permissions, allow_other, sticky)") {
  TestFs fs(256ull << 20, "allow_other");
  REQUIRE(errno_of(chmod(fs.mnt().c_str(), 0755)) == 0);
  REQUIRE(errno_of(mkdir(fs.p("open").c_str(), 01777)) == 0);
  REQUIRE(errno_of(chmod(fs.p("open").c_str(), 01777)) == 0);
  REQUIRE(write_file(fs.p("open/roots"), "r") == 0);
  REQUIRE(write_file(fs.p("secret"), "s") == 0);
  REQUIRE(errno_of(chmod(fs.p("secret").c_str(), 0600)) == 0);
  const unsigned nobody = 65534;
  auto r = run_as(nobody, nobody, {"sh", "-c", "echo x > '" + fs.p("denied") + "'"});
  CHECK(r.status != 0);
  CHECK(r.err.find("Permission denied") != std::string::npos);
  r = run_as(nobody, nobody, {"cat", fs.p("secret")});
  CHECK(r.status != 0);
  CHECK(r.err.find("Permission denied") != std::string::npos);
  r = run_as(nobody, nobody, {"sh", "-c", "echo mine > '" + fs.p("open/mine") + "'"});
  CHECK(r.status == 0);
  auto st = stat_of(fs.p("open/mine"));
  CHECK(st.st_uid == nobody);
  CHECK(st.st_gid == nobody);
  r = run_as(nobody, nobody, {"rm", "-f", fs.p("open/roots")});  // sticky directory
  CHECK(r.status != 0);
  CHECK(errno_of(access(fs.p("open/roots").c_str(), F_OK)) == 0);
  r = run_as(nobody, nobody, {"rm", "-f", fs.p("open/mine")});
  CHECK(r.status == 0);
}
