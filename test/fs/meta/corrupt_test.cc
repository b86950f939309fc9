// Corrupt images: refused mounts with a clear message, or -EUCLEAN on the one object,
// never a crash or a hang. Random corruption of metadata blocks is walked under ASan.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "fs/format/superblock.h"
#include "fs/meta/fs_impl.h"
#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;
using fs::kRootIno;

namespace {
fs::Caller root{0, 0};

format::Superblock read_sb(io::MemDevice& dev) {
  format::Superblock sb;
  std::string why;
  REQUIRE(format::decode_superblock(dev.bytes().data(), dev.size_bytes() / 4096, &sb, &why) == 0);
  return sb;
}
void write_sb(io::MemDevice& dev, const format::Superblock& sb, uint64_t block) {
  format::encode_superblock(sb, dev.bytes().data() + block * 4096);
}
int try_mount(io::MemDevice& dev, std::string* msg, std::unique_ptr<fs::Filesystem>* out = nullptr) {
  auto r = fs::mount_filesystem(std::make_unique<io::BorrowedDevice>(dev), {}, msg);
  if (!r.ok()) return r.err();
  if (out)
    *out = std::move(*r);
  else
    (*r)->unmount();
  return 0;
}
format::DiskInode disk_inode(MemFs& m, fs::Ino ino) {
  auto* impl = dynamic_cast<fs::FilesystemImpl*>(m.fs.get());
  REQUIRE(m->sync() == 0);
  format::DiskInode d;
  REQUIRE(impl->volume().load_inode(ino, &d) == 0);
  return d;
}
// A populated filesystem, unmounted: directory d with files, a fragmented file, xattrs.
void populate(MemFs& m) {
  fs::Ino d = m->mkdir(root, kRootIno, "d", 0755)->ino;
  for (int i = 0; i < 300; ++i) {
    auto f = m->mknod(root, d, "file-" + std::to_string(i), S_IFREG | 0644, 0);
    REQUIRE(f.ok());
    std::string data(size_t(i) * 100, static_cast<char>(i));
    REQUIRE(m->write(f->ino, 0, data.data(), data.size()).ok());
  }
  fs::Ino frag = m->mknod(root, kRootIno, "frag", S_IFREG | 0644, 0)->ino;
  for (int i = 0; i < 100; i += 2) REQUIRE(m->write(frag, uint64_t(i) * 4096, "x", 1).ok());
  REQUIRE(m->setxattr(frag, "user.big", std::string(10000, 'v'), 0) == 0);
  REQUIRE(m->symlink(root, kRootIno, "link", std::string(500, 's')).ok());
}
// Reads everything reachable; returns the number of errors seen. Bounded.
int walk(fs::Filesystem& f, fs::Ino dir, int depth = 0) {
  int errors = 0;
  if (depth > 8) return 0;
  std::vector<std::pair<std::string, fs::Ino>> entries;
  int r = f.readdir(dir, 0, [&](const fs::DirEntry& e) {
    if (e.name != "." && e.name != ".." && entries.size() < 10000) entries.emplace_back(e.name, e.ino);
    return true;
  });
  if (r < 0) ++errors;
  for (auto& [name, ino] : entries) {
    auto a = f.lookup(dir, name);
    if (!a.ok()) {
      ++errors;
      continue;
    }
    if (S_ISDIR(a->mode)) {
      errors += walk(f, a->ino, depth + 1);
    } else if (S_ISREG(a->mode)) {
      std::string buf(std::min<uint64_t>(a->size, 1 << 20), '\0');
      if (!f.read(a->ino, 0, buf.size(), buf.data()).ok()) ++errors;
      char x[16];
      (void)f.listxattr(a->ino, x, sizeof(x));
      (void)f.lseek(a->ino, 0, SEEK_HOLE);
    } else if (S_ISLNK(a->mode)) {
      if (!f.readlink(a->ino).ok()) ++errors;
    }
  }
  return errors;
}
}  // namespace

TEST_CASE("superblock: bad magic, bad crc with and without backup, absurd sizes, truncated device") {
  MemFs m;
  populate(m);
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  auto image = m.dev.bytes();
  format::Superblock sb = read_sb(m.dev);
  std::string msg;

  SUBCASE("not chainfs") {
    std::memset(m.dev.bytes().data(), 0, 4096);
    std::memset(m.dev.bytes().data() + sb.backup_block() * 4096, 0, 4096);
    CHECK(try_mount(m.dev, &msg) == -EINVAL);
    CHECK(msg.find("not a chainfs") != std::string::npos);
  }
  SUBCASE("bad crc, good backup: mounts from the backup, contents intact") {
    m.dev.bytes()[200] ^= 1;
    std::unique_ptr<fs::Filesystem> f;
    REQUIRE(try_mount(m.dev, &msg, &f) == 0);
    CHECK(walk(*f, kRootIno) == 0);
    CHECK(f->unmount() == 0);
    f.reset();
    std::string why;
    format::Superblock again;
    CHECK(format::decode_superblock(m.dev.bytes().data(), sb.block_count, &again, &why) == 0);
  }
  SUBCASE("bad crc in both copies") {
    m.dev.bytes()[200] ^= 1;
    m.dev.bytes()[sb.backup_block() * 4096 + 200] ^= 1;
    CHECK(try_mount(m.dev, &msg) == -EUCLEAN);
    CHECK(msg.find("checksum") != std::string::npos);
  }
  SUBCASE("absurd sizes") {
    format::Superblock bad = sb;
    bad.inode_table_blocks = 1ull << 50;
    write_sb(m.dev, bad, 0);
    write_sb(m.dev, bad, sb.backup_block());
    CHECK(try_mount(m.dev, &msg) == -EUCLEAN);
    CHECK(!msg.empty());
    CHECK(msg.find('\n') == std::string::npos);
  }
  SUBCASE("truncated device") {
    io::MemDevice small(m.dev.size_bytes() / 2);
    std::memcpy(small.bytes().data(), image.data(), small.bytes().size());
    CHECK(try_mount(small, &msg) == -EUCLEAN);
    CHECK(msg.find("truncated") != std::string::npos);
  }
  SUBCASE("bitmap block fails its checksum") {
    m.dev.bytes()[sb.block_bitmap_start * 4096 + 100] ^= 1;
    CHECK(try_mount(m.dev, &msg) == -EUCLEAN);
    CHECK(msg.find("bitmap") != std::string::npos);
  }
}

TEST_CASE("a corrupt inode gives -EUCLEAN for that inode only") {
  MemFs m;
  populate(m);
  fs::Ino d = m->lookup(kRootIno, "d")->ino;
  fs::Ino victim = m->lookup(d, "file-7")->ino;
  format::Superblock sb = read_sb(m.dev);
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  uint64_t off = sb.inode_table_start * 4096 + (victim - 1) * 512 + 30;
  m.dev.bytes()[off] ^= 0x10;
  m.mount();
  d = m->lookup(kRootIno, "d")->ino;
  CHECK(m->lookup(d, "file-7").err() == -EUCLEAN);
  CHECK(m->getattr(victim).err() == -EUCLEAN);
  auto other = m->lookup(d, "file-8");
  REQUIRE(other.ok());
  CHECK(other->size == 800);
  CHECK(m->mknod(root, d, "new", S_IFREG | 0644, 0).ok());
}

TEST_CASE("a symlink whose target is empty, holds a NUL or lost its block gives -EUCLEAN") {
  MemFs m;
  fs::Ino fast = m->symlink(root, kRootIno, "fast", "abc")->ino;
  fs::Ino slow = m->symlink(root, kRootIno, "slow", std::string(500, 's'))->ino;
  format::DiskInode df = disk_inode(m, fast), ds = disk_inode(m, slow);
  format::Superblock sb = read_sb(m.dev);
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  auto rewrite = [&](fs::Ino ino, const format::DiskInode& d) {
    format::encode_inode(ino, d, m.dev.bytes().data() + sb.inode_table_start * 4096 + (ino - 1) * 512);
  };
  SUBCASE("inline target of length 0") {
    df.size = 0;
    rewrite(fast, df);
  }
  SUBCASE("inline target with a NUL byte") {
    df.inline_data[1] = 0;
    rewrite(fast, df);
  }
  SUBCASE("target block unmapped") {
    ds.n_inline_extents = 0;
    ds.blocks = 0;
    rewrite(slow, ds);
    m.mount();
    CHECK(m->readlink(slow).err() == -EUCLEAN);
    CHECK(m->readlink(fast).value() == "abc");
    return;
  }
  m.mount();
  CHECK(m->readlink(fast).err() == -EUCLEAN);
  CHECK(m->readlink(slow).value() == std::string(500, 's'));
}

TEST_CASE("a corrupt directory block gives -EUCLEAN for that directory only") {
  MemFs m;
  populate(m);
  fs::Ino d = m->lookup(kRootIno, "d")->ino;
  uint64_t root_blk = disk_inode(m, d).tree_root;
  REQUIRE(root_blk != 0);
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  m.dev.bytes()[root_blk * 4096 + 64] ^= 0x20;
  m.mount();
  CHECK(m->lookup(d, "file-1").err() == -EUCLEAN);
  CHECK(m->readdir(d, 0, [](const fs::DirEntry&) { return true; }) == -EUCLEAN);
  CHECK(m->mknod(root, d, "x", S_IFREG | 0644, 0).err() == -EUCLEAN);
  CHECK(m->lookup(kRootIno, "frag").ok());
}

TEST_CASE("random corruption of metadata blocks: never a crash or a hang") {
  MemFs m(32ull << 20);
  populate(m);
  REQUIRE(m->unmount() == 0);
  m.fs.reset();
  auto image = m.dev.bytes();
  format::Superblock sb = read_sb(m.dev);
  // Blocks in use that are metadata: inode table blocks with inodes, plus the first
  // data-area blocks (tree nodes, xattr blocks are allocated there early).
  std::vector<uint64_t> targets;
  for (uint64_t b = sb.inode_table_start; b < sb.inode_table_start + 50; ++b) targets.push_back(b);
  for (uint64_t b = sb.data_start; b < sb.data_start + 400; ++b) targets.push_back(b);
  std::mt19937 rng(1234);
  int mounted = 0;
  for (int iter = 0; iter < 60; ++iter) {
    m.dev.bytes() = image;
    for (int k = 0; k < 3; ++k) {
      uint64_t blk = targets[rng() % targets.size()];
      char* p = m.dev.bytes().data() + blk * 4096;
      switch (rng() % 3) {
        case 0: p[rng() % 4096] ^= static_cast<char>(1 + rng() % 255); break;
        case 1: std::memset(p + rng() % 2048, static_cast<int>(rng()), 64); break;
        default: {
          // Make a plausible-looking block: copy another block over it.
          uint64_t other = targets[rng() % targets.size()];
          std::memcpy(p, m.dev.bytes().data() + other * 4096, 4096);
        }
      }
    }
    std::string msg;
    std::unique_ptr<fs::Filesystem> f;
    if (try_mount(m.dev, &msg, &f) != 0) continue;
    ++mounted;
    walk(*f, kRootIno);
    f->unmount();
  }
  CHECK(mounted > 0);
}
