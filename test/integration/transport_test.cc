// The FUSE transport on a real mount: the capabilities chainfs adds to libfuse 3.14's INIT
// reply (parallel dirops, shared mmap with cache=direct, parallel direct writes), the
// mount's readahead, and FUSE-over-io_uring (-o transport=uring) with its fallback and its
// teardown when the daemon dies. The kernel here is 6.18, which offers all of them; the
// ring also needs /sys/module/fuse/parameters/enable_uring = Y, which the tests set as
// root (UringParameter restores the old value).
#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test/integration/fixture.h"

using namespace chainfs::test;

namespace {

constexpr const char* kEnableUring = "/sys/module/fuse/parameters/enable_uring";

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.flush();
  return static_cast<bool>(f);
}

// Sets enable_uring for the test's lifetime.
class UringParameter {
 public:
  explicit UringParameter(bool on) : old_(read_line(kEnableUring)) {
    REQUIRE_MESSAGE(write_text(kEnableUring, on ? "Y" : "N"), "cannot write ", kEnableUring, " (root needed)");
    REQUIRE(read_line(kEnableUring) == (on ? "Y" : "N"));
  }
  ~UringParameter() { write_text(kEnableUring, old_); }

 private:
  std::string old_;
};

// The daemon in the foreground (-f), so the test sees what it logs after INIT.
class ForegroundMount {
 public:
  ForegroundMount(const TestFs& fs, const std::string& opts) : mnt_(fs.mnt()) {
    std::vector<std::string> argv = {daemon_bin(), "-f", fs.dev(), fs.mnt()};
    std::string o = with_env_opts(opts);
    if (!o.empty()) argv.insert(argv.end(), {"-o", o});
    thread_ = std::thread([this, argv] { result_ = run(argv, 600); });
    for (int i = 0; i < 1000 && !(mounted_ = is_mounted(mnt_)); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // The INIT exchange ends before the first request is answered.
    struct stat st;
    if (mounted_) stat(mnt_.c_str(), &st);
  }
  ~ForegroundMount() { finish(); }
  bool mounted() const { return mounted_; }
  // Unmounts, waits for the daemon, returns its stderr.
  const RunResult& finish() {
    if (thread_.joinable()) {
      if (is_mounted(mnt_) && run({"umount", mnt_}).status != 0) run({"umount", "-l", mnt_});
      thread_.join();
    }
    return result_;
  }

 private:
  std::string mnt_;
  bool mounted_ = false;
  std::thread thread_;
  RunResult result_;
};

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.find(needle) != std::string::npos) out.push_back(line);
    pos = end + 1;
  }
  return out;
}

std::string bdi_of(const std::string& mnt) {
  struct stat st;
  REQUIRE(stat(mnt.c_str(), &st) == 0);
  return "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
}

}  // namespace

TEST_CASE("transport=dev: the mount says which transport runs and what it added to INIT") {
  TestFs fs(64 << 20, "", false);
  ForegroundMount m(fs, "transport=dev");
  REQUIRE(m.mounted());
  CHECK(write_file(fs.p("f"), "x") == 0);
  const RunResult& r = m.finish();
  CHECK(r.status == 0);
  auto lines = lines_with(r.err, "transport:");
  REQUIRE_MESSAGE(lines.size() == 1, r.err);
  CHECK(lines[0].find("transport: dev;") != std::string::npos);
  CHECK(lines[0].find("parallel_dirops") != std::string::npos);
  CHECK(lines[0].find("direct_io_allow_mmap") != std::string::npos);
}

TEST_CASE("cache=direct: shared mmap works (DIRECT_IO_ALLOW_MMAP), reads and writes through it") {
  TestFs fs(64 << 20, "cache=direct");
  std::string data = pattern(3 * 4096 + 100, 5);
  REQUIRE(write_file(fs.p("m"), data) == 0);
  int fd = open(fs.p("m").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  void* p = mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  REQUIRE_MESSAGE(p != MAP_FAILED, "mmap MAP_SHARED: ", std::strerror(errno));  // ENODEV before
  char* c = static_cast<char*>(p);
  CHECK(std::string(c, data.size()) == data);
  std::memcpy(c + 4096 + 10, "mapped", 6);
  CHECK(msync(p, data.size(), MS_SYNC) == 0);
  CHECK(munmap(p, data.size()) == 0);
  // A direct read sees what the mapping wrote.
  char b[6];
  CHECK(pread(fd, b, 6, 4096 + 10) == 6);
  CHECK(std::string(b, 6) == "mapped");
  // A direct write is seen by a new mapping.
  CHECK(pwrite(fd, "direct", 6, 100) == 6);
  p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  REQUIRE(p != MAP_FAILED);
  CHECK(std::string(static_cast<char*>(p) + 100, 6) == "direct");
  munmap(p, 4096);
  close(fd);
  auto r = fs.unmount_and_fsck();
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  fs.mount("cache=direct");
  std::string expect = data;
  expect.replace(4096 + 10, 6, "mapped");
  expect.replace(100, 6, "direct");
  CHECK(read_file(fs.p("m")) == expect);
}

TEST_CASE("parallel dirops: lookups and readdirs of one directory in parallel with creates and unlinks") {
  TestFs fs(128 << 20);
  REQUIRE(mkdir(fs.p("d").c_str(), 0755) == 0);
  constexpr int kStable = 300;
  for (int i = 0; i < kStable; ++i) REQUIRE(write_file(fs.p("d/s" + std::to_string(i)), "s") == 0);
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, lookups{0}, scans{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        struct stat st;
        // Names that exist and names that never do (negative entries time out at once
        // only if the kernel asks again: use fresh names).
        std::string name = fs.p("d/s" + std::to_string((i * 7 + t) % kStable));
        if (stat(name.c_str(), &st) != 0 || st.st_size != 1) ++errors;
        std::string none = fs.p("d/none-" + std::to_string(t) + "-" + std::to_string(i));
        if (stat(none.c_str(), &st) == 0 || errno != ENOENT) ++errors;
        ++lookups;
      }
    });
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      while (!stop) {
        DIR* d = opendir(fs.p("d").c_str());
        if (!d) {
          ++errors;
          continue;
        }
        int stable = 0;
        while (dirent* e = readdir(d)) stable += e->d_name[0] == 's';
        closedir(d);
        if (stable != kStable) ++errors;  // every stable name, exactly once
        ++scans;
      }
    });
  std::thread writer([&] {
    for (int i = 0; i < 400; ++i) {
      std::string name = fs.p("d/w" + std::to_string(i));
      if (write_file(name, "w") != 0) ++errors;
      if (i % 2 && unlink(name.c_str()) != 0) ++errors;
    }
  });
  writer.join();
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(errors == 0);
  CHECK(lookups > 0);
  CHECK(scans > 0);
  auto r = fs.unmount_and_fsck();
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
}

TEST_CASE("cache=direct: parallel direct writes to one file land where they belong") {
  TestFs fs(128 << 20, "cache=direct");
  constexpr int kThreads = 8, kRounds = 64;
  constexpr size_t kPiece = 16384;
  // Preallocate so that the writes do not extend the file (the kernel serializes those).
  REQUIRE(write_file(fs.p("f"), std::string(kThreads * kRounds * kPiece, '\0')) == 0);
  int fd = open(fs.p("f").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  std::vector<std::thread> ts;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        size_t slot = static_cast<size_t>(i * kThreads + t);
        std::string piece = pattern(kPiece, static_cast<uint32_t>(slot));
        if (pwrite(fd, piece.data(), kPiece, static_cast<off_t>(slot * kPiece)) != static_cast<ssize_t>(kPiece))
          ++errors;
      }
    });
  for (auto& t : ts) t.join();
  close(fd);
  CHECK(errors == 0);
  auto r = fs.unmount_and_fsck();
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  fs.mount("cache=direct");
  std::string all = read_file(fs.p("f"));
  REQUIRE(all.size() == kThreads * kRounds * kPiece);
  int bad = 0;
  for (size_t slot = 0; slot < kThreads * kRounds; ++slot)
    bad += all.compare(slot * kPiece, kPiece, pattern(kPiece, static_cast<uint32_t>(slot))) != 0;
  CHECK(bad == 0);
}

TEST_CASE("the mount's read_ahead_kb: 4M by default, -o readahead= changes it, 0 keeps the kernel's") {
  TestFs fs(128 << 20);
  CHECK(read_line(bdi_of(fs.mnt()) + "/read_ahead_kb") == "4096");
  std::string data = pattern(20 << 20, 9);
  REQUIRE(write_file(fs.p("big"), data) == 0);
  fs.cycle("readahead=1M");  // a cold page cache
  CHECK(read_line(bdi_of(fs.mnt()) + "/read_ahead_kb") == "1024");
  CHECK(read_file(fs.p("big")) == data);
  fs.cycle("readahead=0");
  CHECK(read_line(bdi_of(fs.mnt()) + "/read_ahead_kb") == "128");
  CHECK(read_file(fs.p("big")) == data);
}

TEST_CASE("transport=uring with enable_uring=N: one line says so and how to turn it on; dev runs") {
  UringParameter off(false);
  TestFs fs(64 << 20, "", false);
  ForegroundMount m(fs, "transport=uring");
  REQUIRE(m.mounted());
  CHECK(write_file(fs.p("f"), "x") == 0);
  CHECK(read_file(fs.p("f")) == "x");
  const RunResult& r = m.finish();
  CHECK(r.status == 0);
  auto warn = lines_with(r.err, "enable_uring");
  REQUIRE_MESSAGE(warn.size() == 1, r.err);
  CHECK(warn[0].find("echo Y > /sys/module/fuse/parameters/enable_uring") != std::string::npos);
  auto lines = lines_with(r.err, "transport:");
  REQUIRE_MESSAGE(lines.size() == 1, r.err);
  CHECK(lines[0].find("transport: dev;") != std::string::npos);
}

TEST_CASE("transport=uring: requests are served from the ring, data and metadata stay correct") {
  UringParameter on(true);
  TestFs fs(128 << 20, "", false);
  {
    ForegroundMount m(fs, "transport=uring");
    REQUIRE(m.mounted());
    REQUIRE(mkdir(fs.p("d").c_str(), 0755) == 0);
    std::string big = pattern((5 << 20) + 123, 3);
    CHECK(write_file(fs.p("d/big"), big) == 0);
    for (int i = 0; i < 50; ++i) CHECK(write_file(fs.p("d/f" + std::to_string(i)), std::to_string(i)) == 0);
    CHECK(read_file(fs.p("d/big")) == big);
    CHECK(read_file(fs.p("d/f7")) == "7");
    CHECK(rename(fs.p("d/f1").c_str(), fs.p("d/g1").c_str()) == 0);
    CHECK(unlink(fs.p("d/f2").c_str()) == 0);
    DIR* d = opendir(fs.p("d").c_str());
    REQUIRE(d != nullptr);
    int n = 0;
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    CHECK(n == 50);  // big + 49 files
    const RunResult& r = m.finish();
    CHECK(r.status == 0);
    auto lines = lines_with(r.err, "transport:");
    REQUIRE_MESSAGE(lines.size() == 1, r.err);
    CHECK(lines[0].find("transport: uring (") != std::string::npos);
    CHECK(lines_with(r.err, "error").empty());
    // Most requests came over the ring (INIT, FORGETs and interrupts use /dev/fuse).
    auto served = lines_with(r.err, "requests served by the ring");
    REQUIRE_MESSAGE(served.size() == 1, r.err);
    size_t at = served[0].find("transport=uring: ") + 17;
    CHECK(std::stoul(served[0].substr(at)) > 100);
  }
  auto r = run({fsck_bin(), "-n", fs.dev()});
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  fs.mount();
  CHECK(read_file(fs.p("d/g1")) == "1");
}

TEST_CASE("transport=uring: killing the daemon with the ring active leaves a mount umount -l clears") {
  UringParameter on(true);
  TestFs fs(64 << 20, "transport=uring");
  {
    int fd = open(fs.p("f").c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    CHECK(write(fd, "x", 1) == 1);
    CHECK(fsync(fd) == 0);  // on the device before the daemon dies
    close(fd);
  }
  auto pids = daemons_for(fs.mnt());
  REQUIRE(pids.size() == 1);
  // A reader busy on the mount while the daemon dies.
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      struct stat st;
      if (stat(fs.p("f").c_str(), &st) != 0) break;
    }
  });
  REQUIRE(kill(pids[0], SIGKILL) == 0);
  for (int i = 0; i < 500 && !daemons_for(fs.mnt()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(daemons_for(fs.mnt()).empty());
  // Nothing hangs on the dead mount: a new process gets an error at once.
  auto st = run({"stat", fs.p("f")}, 20);
  CHECK(st.status != 0);
  CHECK(st.status != 128 + SIGKILL);  // not killed by the timeout
  stop = true;
  reader.join();  // returned: the reader got an error, it did not hang
  auto u = run({"umount", "-l", fs.mnt()}, 20);
  CHECK_MESSAGE(u.status == 0, u.err);
  CHECK_FALSE(is_mounted(fs.mnt()));
  fs.unmount();  // nothing left to do for the fixture
  // The filesystem mounts again (not cleanly unmounted, which the daemon says).
  fs.mount();
  CHECK(read_file(fs.p("f")) == "x");
}
