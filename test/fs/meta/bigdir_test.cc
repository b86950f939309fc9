// 100,000 entries in one directory: create, lookup, readdir while the directory changes,
// delete all. Timings are printed, never asserted.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;
using fs::kRootIno;

namespace {
double secs_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
double cpu_now() { return double(std::clock()) / CLOCKS_PER_SEC; }
std::string name_of(int i) { return "entry-" + std::to_string(i) + "-with-a-longer-name"; }
}  // namespace

TEST_CASE("100,000 entries in one directory") {
  constexpr int kN = 100000;
  MemFs m(512ull << 20, 110000);
  fs::Caller root{0, 0};
  fs::Ino d = m->mkdir(root, kRootIno, "big", 0755)->ino;
  std::vector<fs::Ino> inos(kN);

  auto t = std::chrono::steady_clock::now();
  double c0 = cpu_now();
  for (int i = 0; i < kN; ++i) {
    auto a = m->mknod(root, d, name_of(i), S_IFREG | 0644, 0);
    REQUIRE(a.ok());
    inos[size_t(i)] = a->ino;
  }
  double t_create = secs_since(t), c_create = cpu_now() - c0;

  t = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; i += 1) {
    auto a = m->lookup(d, name_of(i));
    REQUIRE(a.ok());
    CHECK(a->ino == inos[size_t(i)]);
  }
  double t_lookup = secs_since(t);

  t = std::chrono::steady_clock::now();
  std::map<std::string, fs::Ino> seen;
  REQUIRE(m->readdir(d, 0, [&](const fs::DirEntry& e) {
    CHECK(seen.emplace(std::string(e.name), e.ino).second);
    return true;
  }) == 0);
  double t_list = secs_since(t);
  CHECK(seen.size() == size_t(kN) + 2);

  // Readdir in small batches (resuming from cookies) while inserting new names and removing
  // others: entries present for the whole listing come exactly once.
  std::set<std::string> stable, listed;
  for (int i = 0; i < kN; ++i)
    if (i % 3 != 0) stable.insert(name_of(i));
  uint64_t cookie = 0;
  int step = 0;
  bool done = false;
  while (!done) {
    int n = 0;
    uint64_t next = cookie;
    bool dup = false;
    REQUIRE(m->readdir(d, cookie, [&](const fs::DirEntry& e) {
      if (n == 100) return false;
      ++n;
      if (!listed.insert(std::string(e.name)).second) dup = true;
      next = e.next_cookie;
      return true;
    }) == 0);
    CHECK_FALSE(dup);
    if (n == 0) done = true;
    cookie = next;
    // Change the directory between batches.
    int i = step * 3;
    if (i < kN) {
      REQUIRE(m->unlink(d, name_of(i)) == 0);
      m->forget(inos[size_t(i)], 1);  // as the kernel does once the dentry goes
      REQUIRE(m->mknod(root, d, "new-" + std::to_string(step), S_IFREG | 0644, 0).ok());
    }
    ++step;
  }
  for (auto& s : stable) REQUIRE_MESSAGE(listed.count(s) == 1, s);

  t = std::chrono::steady_clock::now();
  c0 = cpu_now();
  std::vector<std::pair<std::string, fs::Ino>> all;
  REQUIRE(m->readdir(d, 0, [&](const fs::DirEntry& e) {
    if (e.name != "." && e.name != "..") all.emplace_back(e.name, e.ino);
    return true;
  }) == 0);
  for (auto& [s, ino] : all) {
    REQUIRE(m->unlink(d, s) == 0);
    m->forget(ino, 1);
  }
  double t_delete = secs_since(t), c_delete = cpu_now() - c0;
  CHECK(m->getattr(d)->nlink == 2);
  CHECK(m->rmdir(kRootIno, "big") == 0);
  std::printf("bigdir: %d entries: create %.2fs (cpu %.2fs), lookup %.2fs, readdir %.2fs, "
              "delete %.2fs (cpu %.2fs)\n",
              kN, t_create, c_create, t_lookup, t_list, t_delete, c_delete);
}
