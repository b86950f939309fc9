// The daemon's command line as users and mount(8) meet it: help, version, usage errors
// (exit 1) and refused mounts (exit 32), each with one line on stderr.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "test/integration/fixture.h"

using namespace chainfs::test;

namespace {
size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

TEST_CASE("--help goes to stdout with exit 0 and lists chainfs's and libfuse's options") {
  auto r = run({daemon_bin(), "--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: chainfs DEV MOUNTPOINT") != std::string::npos);
  CHECK(r.out.find("write_strategy=sync|page|chain") != std::string::npos);
  CHECK(r.out.find("allow_other") != std::string::npos);
  CHECK(r.out.find("max_threads") != std::string::npos);  // libfuse's part
}

TEST_CASE("--version names chainfs, the format and libfuse") {
  auto r = run({daemon_bin(), "--version"});
  CHECK(r.status == 0);
  CHECK(r.out.find("chainfs (chainfs) ") != std::string::npos);
  CHECK(r.out.find("on-disk format version 1") != std::string::npos);
  CHECK(r.out.find("FUSE library version 3.") != std::string::npos);
  CHECK(r.out.find("FUSE kernel interface version") != std::string::npos);
}

TEST_CASE("usage errors: one line, exit 1, nothing mounted") {
  TempImage img(64 << 20);
  TempDir dir;
  for (auto argv : std::vector<std::vector<std::string>>{
           {daemon_bin(), img.path(), dir.path(), "-o", "bogus"},
           {daemon_bin(), img.path(), dir.path(), "-o", "write_strategy=fast"},
           {daemon_bin(), "--no-such-flag", img.path(), dir.path()},
           {daemon_bin()},
           {daemon_bin(), img.path()},
           {daemon_bin(), img.path(), dir.path(), "extra"}}) {
    CAPTURE(join(argv));
    auto r = run(argv);
    CHECK(r.status == 1);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.rfind("chainfs: ", 0) == 0);
    CHECK_FALSE(is_mounted(dir.path()));
  }
}

TEST_CASE("refused mounts: one line, exit 32") {
  TempDir dir;
  TempImage tiny(64 << 10);
  TempImage zeros(64 << 20);
  SUBCASE("missing device") {
    auto r = run({daemon_bin(), "/nonexistent/chainfs.img", dir.path()});
    CHECK(r.status == 32);
    CHECK(r.err == "chainfs: cannot open /nonexistent/chainfs.img: No such file or directory\n");
  }
  SUBCASE("device too small") {
    auto r = run({daemon_bin(), tiny.path(), dir.path()});
    CHECK(r.status == 32);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find(tiny.path()) != std::string::npos);
  }
  SUBCASE("not a chainfs image") {
    auto r = run({daemon_bin(), zeros.path(), dir.path()});
    CHECK(r.status == 32);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("not a chainfs") != std::string::npos);
  }
  SUBCASE("mountpoint missing, not a directory, not empty") {
    TestFs fs(64 << 20, "", false);
    auto r = run({daemon_bin(), fs.dev(), dir.path() + "/missing"});
    CHECK(r.status == 32);
    CHECK(r.err.find("does not exist") != std::string::npos);
    std::string file = dir.path() + "/file";
    REQUIRE(write_file(file, "x") == 0);
    r = run({daemon_bin(), fs.dev(), file});
    CHECK(r.status == 32);
    CHECK(r.err.find("is not a directory") != std::string::npos);
    r = run({daemon_bin(), fs.dev(), dir.path()});
    CHECK(r.status == 32);
    CHECK(r.err.find("is not empty") != std::string::npos);
    CHECK(lines(r.err) == 1);
    CHECK_FALSE(is_mounted(dir.path()));
    // -o nonempty mounts over it anyway.
    {
      Mount m(daemon_bin(), fs.dev(), dir.path(), "nonempty");
      CHECK(is_mounted(dir.path()));
      CHECK(access(file.c_str(), F_OK) != 0);  // hidden under the mount
    }
    unlink(file.c_str());
  }
}

TEST_CASE("a second mount of a mounted device is refused (exit 32) and the first one stays") {
  TestFs fs(64 << 20);
  REQUIRE(write_file(fs.p("keep"), "kept") == 0);
  TempDir other;
  auto r = run({daemon_bin(), fs.dev(), other.path()}, 60);
  CHECK(r.status == 32);
  CHECK(r.err.find("is in use") != std::string::npos);
  CHECK_FALSE(is_mounted(other.path()));
  CHECK(read_file(fs.p("keep")) == "kept");
}
