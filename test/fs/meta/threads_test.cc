// Many threads on one Filesystem: parallel file I/O, creates/unlinks in shared and
// private directories, renames across directories, concurrent sync. Run under TSan
// (label tsan).
#include <doctest/doctest.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;
using fs::kRootIno;

TEST_CASE("threads: parallel I/O, namespace changes, renames and syncs stay consistent") {
  MemFs m(128ull << 20);
  fs::Caller root{0, 0};
  constexpr int kThreads = 4;
  fs::Ino shared = m->mkdir(root, kRootIno, "shared", 0755)->ino;
  fs::Ino a = m->mkdir(root, kRootIno, "a", 0755)->ino;
  fs::Ino b = m->mkdir(root, kRootIno, "b", 0755)->ino;
  std::atomic<int> failures{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::string mine = "t" + std::to_string(t);
      fs::Ino dir = m->mkdir(root, kRootIno, mine, 0755)->ino;
      fs::Ino f = m->mknod(root, dir, "data", S_IFREG | 0644, 0)->ino;
      std::string buf(64 * 1024, static_cast<char>('a' + t));
      for (int i = 0; i < 200; ++i) {
        uint64_t off = (rng() % 64) * 4096 + rng() % 100;
        if (!m->write(f, off, buf.data(), buf.size()).ok()) ++failures;
        std::string back(buf.size(), '\0');
        auto r = m->read(f, off, back.size(), back.data());
        if (!r.ok() || back != buf) ++failures;
        std::string name = mine + "-" + std::to_string(i);
        auto c = m->mknod(root, shared, name, S_IFREG | 0644, 0);
        if (!c.ok()) ++failures;
        if (i % 2 && m->unlink(shared, name) != 0) ++failures;
        if (c.ok()) m->forget(c->ino, 1);
        // Renames across two directories in both directions.
        std::string rn = "r" + mine;
        if (i == 0) {
          auto rc = m->mknod(root, a, rn, S_IFREG | 0644, 0);
          if (rc.ok()) m->forget(rc->ino, 1);
        }
        int r1 = (i % 2 == 0) ? m->rename(a, rn, b, rn, 0) : m->rename(b, rn, a, rn, 0);
        if (r1 != 0) ++failures;
        if (i % 50 == 0 && m->sync() != 0) ++failures;
        uint64_t cookie = 0;
        m->readdir(shared, cookie, [&](const fs::DirEntry&) { return true; });
      }
    });
  }
  std::thread syncer([&] {
    while (!stop) {
      m->sync();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& t : ts) t.join();
  stop = true;
  syncer.join();
  CHECK(failures == 0);
  int count = 0;
  REQUIRE(m->readdir(shared, 0, [&](const fs::DirEntry&) {
    ++count;
    return true;
  }) == 0);
  CHECK(count == 2 + kThreads * 100);
  CHECK(m->getattr(shared)->nlink == 2);
  m.remount();
  count = 0;
  REQUIRE(m->readdir(m->lookup(kRootIno, "shared")->ino, 0, [&](const fs::DirEntry&) {
    ++count;
    return true;
  }) == 0);
  CHECK(count == 2 + kThreads * 100);
  CHECK(m->getattr(kRootIno)->nlink == 2 + 3 + kThreads);
}
