// File data, extents, truncate, fallocate, SEEK_DATA/SEEK_HOLE, xattrs, ENOSPC and
// persistence across unmount/mount, on a MemDevice.
#include <doctest/doctest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "fs/format/layout.h"
#include "fs/meta/extent_map.h"
#include "fs/meta/fs_impl.h"
#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;
using fs::kRootIno;

namespace {
fs::Caller root{0, 0};
fs::Ino mkfile(MemFs& m, const std::string& name, fs::Ino dir = kRootIno) {
  auto a = m->mknod(root, dir, name, S_IFREG | 0644, 0);
  REQUIRE_MESSAGE(a.ok(), name << " err " << a.err());
  return a->ino;
}
std::string pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}
std::string readall(MemFs& m, fs::Ino f, uint64_t off, size_t len) {
  std::string s(len, '\0');
  auto r = m->read(f, off, len, s.data());
  REQUIRE(r.ok());
  s.resize(*r);
  return s;
}
uint64_t extents_of(MemFs& m, fs::Ino ino) {
  auto* impl = dynamic_cast<fs::FilesystemImpl*>(m.fs.get());
  REQUIRE(impl);
  REQUIRE(m->sync() == 0);  // the record reaches the inode table at write-back
  format::DiskInode d;
  REQUIRE(impl->volume().load_inode(ino, &d) == 0);
  uint64_t n = 0;
  REQUIRE(fs::ExtentMap(impl->volume(), ino, d).count(&n) == 0);
  return n;
}
}  // namespace

TEST_CASE("write and read back: unaligned offsets, partial blocks, block counts") {
  MemFs m;
  fs::Ino f = mkfile(m, "f");
  std::string a = pattern(10000, 1);
  CHECK(*m->write(f, 0, a.data(), a.size()) == a.size());
  CHECK(m->getattr(f)->size == 10000);
  CHECK(m->getattr(f)->blocks == 3 * 8);
  std::string b = pattern(5000, 2);
  CHECK(*m->write(f, 3333, b.data(), b.size()) == b.size());
  std::string want = a;
  want.replace(3333, 5000, b);
  CHECK(readall(m, f, 0, 20000) == want);
  CHECK(readall(m, f, 4095, 2) == want.substr(4095, 2));
  CHECK(readall(m, f, 10000, 10).empty());
  // A write past the end leaves a hole that reads as zeros and takes no blocks.
  CHECK(*m->write(f, 100000, "Z", 1) == 1);
  CHECK(m->getattr(f)->size == 100001);
  CHECK(m->getattr(f)->blocks == 4 * 8);
  std::string hole = readall(m, f, 10000, 90000);
  CHECK(hole == std::string(90000, '\0'));
  m.remount();
  f = m->lookup(kRootIno, "f")->ino;
  want.resize(100000, '\0');
  want += "Z";
  CHECK(readall(m, f, 0, 200000) == want);
}

TEST_CASE("sequential writes are contiguous: one extent") {
  MemFs m(256ull << 20);
  fs::Ino f = mkfile(m, "big");
  std::string chunk = pattern(128 * 1024, 3);
  for (int i = 0; i < 512; ++i)  // 64 MiB in 128 KiB writes
    REQUIRE(*m->write(f, uint64_t(i) * chunk.size(), chunk.data(), chunk.size()) == chunk.size());
  CHECK(extents_of(m, f) == 1);
  CHECK(readall(m, f, 63 * (1 << 20), 128 * 1024) == chunk);
}

TEST_CASE("a sparse write at 1 TiB - 4 KiB; EFBIG beyond the maximum") {
  MemFs m;
  fs::Ino f = mkfile(m, "sparse");
  uint64_t off = (1ull << 40) - 4096;
  std::string d = pattern(4096, 4);
  CHECK(*m->write(f, off, d.data(), d.size()) == 4096);
  auto a = m->getattr(f);
  CHECK(a->size == 1ull << 40);
  CHECK(a->blocks == 8);
  CHECK(readall(m, f, off, 4096) == d);
  CHECK(readall(m, f, 1ull << 39, 4096) == std::string(4096, '\0'));
  CHECK(*m->lseek(f, 0, SEEK_DATA) == off);
  CHECK(*m->lseek(f, 0, SEEK_HOLE) == 0);
  CHECK(*m->lseek(f, off, SEEK_HOLE) == 1ull << 40);
  CHECK(m->write(f, format::kMaxFileSize, "x", 1).err() == -EFBIG);
  m.remount();
  CHECK(readall(m, m->lookup(kRootIno, "sparse")->ino, off, 4096) == d);
}

TEST_CASE("many fragments move the extents to a tree; punch, read, remount") {
  MemFs m;
  fs::Ino f = mkfile(m, "frag");
  std::string want(4096 * 2000, '\0');
  // Every other block: 1000 one-block extents (no merging possible across holes).
  for (int i = 0; i < 2000; i += 2) {
    std::string b = pattern(4096, static_cast<uint32_t>(i));
    REQUIRE(*m->write(f, uint64_t(i) * 4096, b.data(), 4096) == 4096);
    want.replace(size_t(i) * 4096, 4096, b);
  }
  want.resize(4096 * 1999);
  CHECK(extents_of(m, f) == 1000);
  CHECK(readall(m, f, 0, want.size()) == want);
  CHECK(*m->lseek(f, 4096, SEEK_DATA) == 8192);
  CHECK(*m->lseek(f, 0, SEEK_HOLE) == 4096);
  // Punch the middle (partial blocks at both ends are zeroed).
  REQUIRE(m->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000 * 4096 + 100, 500 * 4096) == 0);
  std::fill(want.begin() + 1000 * 4096 + 100, want.begin() + 1500 * 4096 + 100, '\0');
  CHECK(readall(m, f, 0, want.size()) == want);
  CHECK(m->getattr(f)->size == want.size());
  m.remount();
  f = m->lookup(kRootIno, "frag")->ino;
  CHECK(readall(m, f, 0, want.size()) == want);
  uint64_t free_before = m->statfs()->blocks_free;
  REQUIRE(m->unlink(kRootIno, "frag") == 0);
  m->forget(f, 1);
  m->sync();
  CHECK(m->statfs()->blocks_free > free_before + 700);
}

TEST_CASE("truncate down and up: blocks freed, partial tail zeroed, mtime/ctime") {
  MemFs m;
  fs::Ino f = mkfile(m, "t");
  std::string a = pattern(50000, 5);
  REQUIRE(*m->write(f, 0, a.data(), a.size()) == a.size());
  auto before = m->getattr(f);
  fs::SetAttr s;
  s.fields = fs::SetAttr::kSize;
  s.size = 5000;
  auto r = m->setattr(f, s);
  REQUIRE(r.ok());
  CHECK(r->size == 5000);
  CHECK(r->blocks == 2 * 8);
  CHECK((r->mtime.tv_sec > before->mtime.tv_sec ||
         (r->mtime.tv_sec == before->mtime.tv_sec && r->mtime.tv_nsec >= before->mtime.tv_nsec)));
  s.size = 20000;
  REQUIRE(m->setattr(f, s).ok());
  std::string want = a.substr(0, 5000) + std::string(15000, '\0');
  CHECK(readall(m, f, 0, 30000) == want);
  s.size = 0;
  CHECK(m->setattr(f, s)->blocks == 0);
  // A truncate to the same size still sets mtime and ctime (as ext4 does).
  fs::SetAttr old_times;
  old_times.fields = fs::SetAttr::kMtime;
  old_times.mtime = timespec{1, 0};
  REQUIRE(m->setattr(f, old_times)->mtime.tv_sec == 1);
  CHECK(m->setattr(f, s)->mtime.tv_sec > 1);
  fs::Ino d = m->mkdir(root, kRootIno, "d", 0755)->ino;
  CHECK(m->setattr(d, s).err() == -EISDIR);
}

TEST_CASE("fallocate: default, KEEP_SIZE, ZERO_RANGE, unsupported modes") {
  MemFs m;
  fs::Ino f = mkfile(m, "fa");
  REQUIRE(m->fallocate(f, 0, 0, 1 << 20) == 0);
  auto a = m->getattr(f);
  CHECK(a->size == 1 << 20);
  CHECK(a->blocks == 256 * 8);
  CHECK(readall(m, f, 0, 4096) == std::string(4096, '\0'));
  // Unwritten extents are holes for SEEK_DATA (as ext4 reports zeroes).
  CHECK(m->lseek(f, 0, SEEK_DATA).err() == -ENXIO);
  REQUIRE(*m->write(f, 8192, "abc", 3) == 3);
  CHECK(readall(m, f, 8190, 6) == std::string("\0\0abc\0", 6));
  CHECK(*m->lseek(f, 0, SEEK_DATA) == 8192);
  CHECK(*m->lseek(f, 8192, SEEK_HOLE) == 12288);
  CHECK(m->getattr(f)->blocks == 256 * 8);  // writing into preallocated space takes nothing new
  REQUIRE(m->fallocate(f, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) == 0);
  CHECK(m->getattr(f)->size == 1 << 20);
  CHECK(m->getattr(f)->blocks == 512 * 8);
  std::string d = pattern(20000, 6);
  REQUIRE(*m->write(f, 0, d.data(), d.size()) == d.size());
  REQUIRE(m->fallocate(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 100, 10000) == 0);
  std::string want = d;
  std::fill(want.begin() + 100, want.begin() + 10100, '\0');
  CHECK(readall(m, f, 0, 20000) == want);
  REQUIRE(m->fallocate(f, FALLOC_FL_ZERO_RANGE, (2 << 20) - 10, 100) == 0);
  CHECK(m->getattr(f)->size == (2 << 20) + 90);
  CHECK(m->fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 10) == -EOPNOTSUPP);
  CHECK(m->fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) == -EOPNOTSUPP);
  m.remount();
  CHECK(readall(m, m->lookup(kRootIno, "fa")->ino, 0, 20000) == want);
}

TEST_CASE("SEEK_DATA / SEEK_HOLE on a plain file and past the end") {
  MemFs m;
  fs::Ino f = mkfile(m, "s");
  REQUIRE(*m->write(f, 0, "a", 1) == 1);
  REQUIRE(*m->write(f, 5 * 4096, "b", 1) == 1);
  CHECK(*m->lseek(f, 0, SEEK_DATA) == 0);
  CHECK(*m->lseek(f, 0, SEEK_HOLE) == 4096);
  CHECK(*m->lseek(f, 4096, SEEK_DATA) == 5 * 4096);
  CHECK(*m->lseek(f, 5 * 4096, SEEK_HOLE) == 5 * 4096 + 1);
  CHECK(m->lseek(f, 5 * 4096 + 1, SEEK_DATA).err() == -ENXIO);
  CHECK(m->lseek(f, 1 << 30, SEEK_HOLE).err() == -ENXIO);
}

TEST_CASE("xattrs: 64 KiB values, create/replace flags, list, remove, persistence") {
  MemFs m;
  fs::Ino f = mkfile(m, "x");
  CHECK(m->setxattr(f, "user.small", "v", 0) == 0);
  CHECK(m->setxattr(f, "user.small", "w", XATTR_CREATE) == -EEXIST);
  CHECK(m->setxattr(f, "user.none", "w", XATTR_REPLACE) == -ENODATA);
  CHECK(m->setxattr(f, "user.small", "ww", XATTR_REPLACE) == 0);
  std::string big = pattern(65536, 7);
  CHECK(m->setxattr(f, "user.big", big, 0) == 0);
  CHECK(m->setxattr(f, "trusted.t", "tt", 0) == 0);
  CHECK(m->setxattr(f, "security.selinux", "label", 0) == 0);
  CHECK(m->setxattr(f, "system.posix_acl_access", "x", 0) == -EINVAL);  // not an ACL
  CHECK(m->setxattr(f, "system.other", "x", 0) == -EOPNOTSUPP);
  CHECK(m->setxattr(f, "user.toobig", std::string(65537, 'a'), 0) == -E2BIG);
  CHECK(*m->getxattr(f, "user.big", nullptr, 0) == 65536);
  std::string back(65536, '\0');
  CHECK(*m->getxattr(f, "user.big", back.data(), back.size()) == 65536);
  CHECK(back == big);
  char small[1];
  CHECK(m->getxattr(f, "user.big", small, 1).err() == -ERANGE);
  CHECK(m->getxattr(f, "user.missing", small, 1).err() == -ENODATA);
  size_t need = *m->listxattr(f, nullptr, 0);
  std::string names(need, '\0');
  CHECK(*m->listxattr(f, names.data(), need) == need);
  CHECK(names == std::string("security.selinux\0trusted.t\0user.big\0user.small\0", need));
  CHECK(m->getattr(f)->blocks == 17 * 8);
  m.remount();
  CHECK(*m->getxattr(f, "user.big", back.data(), back.size()) == 65536);
  CHECK(back == big);
  CHECK(m->removexattr(f, "user.big") == 0);
  CHECK(m->removexattr(f, "user.big") == -ENODATA);
  CHECK(m->getattr(f)->blocks == 0);
  char v[4];
  CHECK(*m->getxattr(f, "user.small", v, 4) == 2);
  // user.* is refused on symlinks, as the kernel does.
  auto s = m->symlink(root, kRootIno, "l", "x");
  CHECK(m->setxattr(s->ino, "user.a", "b", 0) == -EPERM);
  CHECK(m->setxattr(s->ino, "trusted.a", "b", 0) == 0);
}

TEST_CASE("ENOSPC leaves everything consistent; space is usable again after deletes") {
  MemFs m(16ull << 20);
  std::string chunk = pattern(1 << 20, 8);
  std::vector<fs::Ino> files;
  int full_at = -1;
  for (int i = 0; i < 40 && full_at < 0; ++i) {
    fs::Ino f = mkfile(m, "f" + std::to_string(i));
    files.push_back(f);
    auto r = m->write(f, 0, chunk.data(), chunk.size());
    if (!r.ok()) {
      CHECK(r.err() == -ENOSPC);
      full_at = i;
    } else if (*r < chunk.size()) {
      full_at = i;
    }
  }
  REQUIRE(full_at > 5);
  // A refused write writes nothing (all or nothing when space is short), so smaller
  // writes still fit: fill the rest block by block.
  fs::Ino tail = mkfile(m, "tail");
  uint64_t off = 0;
  while (m->write(tail, off, chunk.data(), 4096).ok()) off += 4096;
  CHECK(m->write(tail, off, chunk.data(), 4096).err() == -ENOSPC);
  CHECK(m->statfs()->blocks_avail == 0);
  CHECK(m->getattr(tail)->size == off);
  // A file that hit ENOSPC reads back what was written.
  fs::Ino last = files.back();
  uint64_t sz = m->getattr(last)->size;
  CHECK(readall(m, last, 0, sz) == chunk.substr(0, sz));
  // Deleting works while full; then the space can be written again.
  for (int i = 0; i < 4; ++i) {
    REQUIRE(m->unlink(kRootIno, "f" + std::to_string(i)) == 0);
    m->forget(files[size_t(i)], 1);
  }
  fs::Ino g = mkfile(m, "again");
  CHECK(*m->write(g, 0, chunk.data(), chunk.size()) == chunk.size());
  CHECK(readall(m, g, 0, chunk.size()) == chunk);
  m.remount();
  CHECK(readall(m, m->lookup(kRootIno, "again")->ino, 0, chunk.size()) == chunk);
  CHECK(readall(m, m->lookup(kRootIno, "f5")->ino, 0, chunk.size()) == chunk);
}

TEST_CASE("unmount then mount preserves everything byte for byte") {
  MemFs m;
  std::vector<std::pair<std::string, std::string>> files;
  fs::Ino d = m->mkdir(root, kRootIno, "dir", 0700)->ino;
  for (int i = 0; i < 50; ++i) {
    std::string name = "file" + std::to_string(i);
    std::string data = pattern(size_t(i) * 3001 + 1, uint32_t(i));
    fs::Ino f = mkfile(m, name, d);
    REQUIRE(*m->write(f, 0, data.data(), data.size()) == data.size());
    files.emplace_back(name, data);
  }
  auto attr_before = m->getattr(d);
  REQUIRE(m->unmount() == 0);
  auto image = m.dev.bytes();
  m.fs.reset();
  // Unmounted cleanly: mounting read-only changes nothing on the device.
  fs::MountOptions ro;
  ro.read_only = true;
  m.mount(ro);
  CHECK_FALSE(m->was_unclean());
  d = m->lookup(kRootIno, "dir")->ino;
  auto attr_after = m->getattr(d);
  CHECK(attr_after->mtime.tv_nsec == attr_before->mtime.tv_nsec);
  CHECK(attr_after->mode == (S_IFDIR | 0700));
  for (auto& [name, data] : files) {
    auto a = m->lookup(d, name);
    REQUIRE(a.ok());
    CHECK(a->size == data.size());
    CHECK(readall(m, a->ino, 0, data.size() + 10) == data);
  }
  m->unmount();
  m.fs.reset();
  CHECK(m.dev.bytes() == image);
}

TEST_CASE("no leaks: deleting everything returns the free counts of a fresh mkfs") {
  MemFs m;
  auto fresh = m->statfs();
  fs::Ino d = m->mkdir(root, kRootIno, "d", 0755)->ino;
  std::vector<std::pair<std::string, fs::Ino>> made;
  for (int i = 0; i < 400; ++i) {
    std::string name = "f" + std::to_string(i);
    fs::Ino f = mkfile(m, name, d);
    made.emplace_back(name, f);
    for (int k = 0; k < 20; k += 2) REQUIRE(m->write(f, uint64_t(k + i % 3) * 4096, "abc", 3).ok());
    if (i % 10 == 0) REQUIRE(m->setxattr(f, "user.x", std::string(9000, 'x'), 0) == 0);
  }
  REQUIRE(m->symlink(root, d, "long", std::string(1000, 'l')).ok());
  m.remount();
  for (auto& [name, ino] : made) REQUIRE(m->unlink(d, name) == 0);
  REQUIRE(m->unlink(d, "long") == 0);
  REQUIRE(m->rmdir(kRootIno, "d") == 0);
  m.remount();
  auto after = m->statfs();
  CHECK(after->blocks_free == fresh->blocks_free);
  CHECK(after->files_free == fresh->files_free);
}
