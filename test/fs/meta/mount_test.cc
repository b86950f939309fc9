#include <dirent.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <set>
#include <thread>
#include <string>

#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;

TEST_CASE("mkfs then mount: root directory is empty, 0755, owned by root") {
  MemFs m;
  auto a = m->getattr(fs::kRootIno);
  REQUIRE(a.ok());
  CHECK(a->mode == (S_IFDIR | 0755));
  CHECK(a->uid == 0);
  CHECK(a->nlink == 2);
  std::set<std::string> names;
  REQUIRE(m->readdir(fs::kRootIno, 0, [&](const fs::DirEntry& e) {
    names.insert(std::string(e.name));
    return true;
  }) == 0);
  CHECK(names == std::set<std::string>{".", ".."});
  CHECK_FALSE(m->was_unclean());
  auto st = m->statfs();
  REQUIRE(st.ok());
  CHECK(st->blocks == (64u << 20) / 4096);
  CHECK(st->blocks_free > st->blocks / 2);
  CHECK(st->files_free + 1 == st->files);
}

TEST_CASE("a device smaller than the minimum is refused with the minimum size") {
  io::MemDevice dev(1 << 20);
  std::string msg;
  CHECK(fs::make_filesystem(dev, {}, &msg) == -ENOSPC);
  CHECK(msg.find("at least") != std::string::npos);
}

TEST_CASE("the flusher writes dirty metadata without a sync; state and was_unclean") {
  chainfs::test::MemFs m;
  fs::MountOptions opts;
  opts.flush_interval_s = 1;
  m.remount();
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  m.mount(opts);
  auto f = m->mknod({0, 0}, fs::kRootIno, "flushed", S_IFREG | 0644, 0);
  REQUIRE(f.ok());
  REQUIRE(*m->write(f->ino, 0, "data", 4) == 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto crashed = m.dev.bytes();  // the device as a crash would leave it
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  m.dev.bytes() = crashed;
  m.mount();
  CHECK(m->was_unclean());
  auto a = m->lookup(fs::kRootIno, "flushed");
  REQUIRE(a.ok());
  char buf[4];
  CHECK(*m->read(a->ino, 0, 4, buf) == 4);
  CHECK(std::string(buf, 4) == "data");
  m.remount();
  CHECK_FALSE(m->was_unclean());
}
