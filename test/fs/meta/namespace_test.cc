// The Filesystem API's namespace operations on a MemDevice: create, lookup, links,
// unlink/rmdir, rename variants, symlinks, timestamps, setgid directories, errno values.
#include <dirent.h>
#include <doctest/doctest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>
#include <string>
#include <thread>

#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;
using fs::kRootIno;

namespace {
fs::Caller root{0, 0};

fs::Ino mkfile(MemFs& m, fs::Ino dir, const std::string& name, uint32_t mode = 0644) {
  auto a = m->mknod(root, dir, name, S_IFREG | mode, 0);
  REQUIRE_MESSAGE(a.ok(), name << " err " << a.err());
  return a->ino;
}
fs::Ino mkdir_(MemFs& m, fs::Ino dir, const std::string& name) {
  auto a = m->mkdir(root, dir, name, 0755);
  REQUIRE_MESSAGE(a.ok(), name << " err " << a.err());
  return a->ino;
}
std::map<std::string, fs::Ino> list(MemFs& m, fs::Ino dir) {
  std::map<std::string, fs::Ino> out;
  REQUIRE(m->readdir(dir, 0, [&](const fs::DirEntry& e) {
    CHECK(out.emplace(std::string(e.name), e.ino).second);
    return true;
  }) == 0);
  return out;
}
bool later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}
}  // namespace

TEST_CASE("create, lookup, getattr, unlink") {
  MemFs m;
  auto before = m->getattr(kRootIno);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  fs::Ino f = mkfile(m, kRootIno, "a");
  auto a = m->lookup(kRootIno, "a");
  REQUIRE(a.ok());
  CHECK(a->ino == f);
  CHECK(a->mode == (S_IFREG | 0644));
  CHECK(a->nlink == 1);
  CHECK(a->size == 0);
  CHECK(a->blocks == 0);
  auto after = m->getattr(kRootIno);
  CHECK(later(after->mtime, before->mtime));
  CHECK(later(after->ctime, before->ctime));
  CHECK(a->btime.tv_sec == a->mtime.tv_sec);
  CHECK(m->mknod(root, kRootIno, "a", S_IFREG | 0644, 0).err() == -EEXIST);
  CHECK(m->lookup(kRootIno, "b").err() == -ENOENT);
  CHECK(m->lookup(kRootIno, std::string(256, 'x')).err() == -ENAMETOOLONG);
  CHECK(m->mknod(root, kRootIno, std::string(256, 'x'), S_IFREG | 0644, 0).err() == -ENAMETOOLONG);
  CHECK(m->mknod(root, kRootIno, std::string(255, 'x'), S_IFREG | 0644, 0).ok());
  CHECK(m->lookup(f, "x").err() == -ENOTDIR);
  CHECK(m->unlink(kRootIno, "a") == 0);
  CHECK(m->lookup(kRootIno, "a").err() == -ENOENT);
  CHECK(m->unlink(kRootIno, "a") == -ENOENT);
  m->forget(f, 2);
}

TEST_CASE("device nodes, fifos and sockets keep type and rdev") {
  MemFs m;
  auto c = m->mknod(root, kRootIno, "c", S_IFCHR | 0600, makedev(1, 3));
  REQUIRE(c.ok());
  CHECK(S_ISCHR(c->mode));
  CHECK(c->rdev == makedev(1, 3));
  CHECK(S_ISFIFO(m->mknod(root, kRootIno, "p", S_IFIFO | 0600, 0)->mode));
  CHECK(S_ISSOCK(m->mknod(root, kRootIno, "s", S_IFSOCK | 0600, 0)->mode));
  CHECK(S_ISBLK(m->mknod(root, kRootIno, "b", S_IFBLK | 0600, makedev(8, 1))->mode));
  m.remount();
  auto l = list(m, kRootIno);
  CHECK(l.size() == 6);
  CHECK(m->getattr(l["c"])->rdev == makedev(1, 3));
}

TEST_CASE("directories: link counts, rmdir, ENOTEMPTY, ENOTDIR, EISDIR") {
  MemFs m;
  fs::Ino d = mkdir_(m, kRootIno, "d");
  CHECK(m->getattr(kRootIno)->nlink == 3);
  CHECK(m->getattr(d)->nlink == 2);
  fs::Ino e = mkdir_(m, d, "e");
  CHECK(m->getattr(d)->nlink == 3);
  mkfile(m, d, "f");
  CHECK(m->getattr(d)->nlink == 3);
  auto l = list(m, d);
  CHECK(l["."] == d);
  CHECK(l[".."] == kRootIno);
  CHECK(list(m, e)[".."] == d);
  CHECK(m->lookup(e, "..")->ino == d);
  CHECK(m->rmdir(kRootIno, "d") == -ENOTEMPTY);
  CHECK(m->rmdir(d, "f") == -ENOTDIR);
  CHECK(m->unlink(d, "e") == -EISDIR);
  CHECK(m->rmdir(d, "e") == 0);
  CHECK(m->getattr(d)->nlink == 2);
  CHECK(m->unlink(d, "f") == 0);
  CHECK(m->rmdir(kRootIno, "d") == 0);
  CHECK(m->getattr(kRootIno)->nlink == 2);
  CHECK(m->lookup(kRootIno, "d").err() == -ENOENT);
  // Creating inside a removed directory (still referenced) fails.
  CHECK(m->mknod(root, d, "g", S_IFREG | 0644, 0).err() == -ENOENT);
}

TEST_CASE("hard links: nlink, ctime, unlink of one name keeps the data") {
  MemFs m;
  fs::Ino f = mkfile(m, kRootIno, "a");
  REQUIRE(m->write(f, 0, "hello", 5).ok());
  fs::Ino d = mkdir_(m, kRootIno, "d");
  auto before = m->getattr(f);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto l = m->link(f, d, "b");
  REQUIRE(l.ok());
  CHECK(l->nlink == 2);
  CHECK(later(l->ctime, before->ctime));
  CHECK(m->link(f, d, "b").err() == -EEXIST);
  CHECK(m->link(d, kRootIno, "dd").err() == -EPERM);
  CHECK(m->unlink(kRootIno, "a") == 0);
  CHECK(m->getattr(f)->nlink == 1);
  char buf[8] = {};
  auto r = m->read(f, 0, 8, buf);
  REQUIRE(r.ok());
  CHECK(std::string(buf, *r) == "hello");
  m.remount();
  auto b = m->lookup(d, "b");
  REQUIRE(b.ok());
  CHECK(b->nlink == 1);
  CHECK(b->size == 5);
}

TEST_CASE("unlinked but open: readable until release, then freed") {
  MemFs m;
  fs::Ino f = mkfile(m, kRootIno, "a");
  std::string data(100000, 'q');
  REQUIRE(*m->write(f, 0, data.data(), data.size()) == data.size());
  REQUIRE(m->open(f) == 0);
  uint64_t free_before = m->statfs()->blocks_free;
  CHECK(m->unlink(kRootIno, "a") == 0);
  m->forget(f, 1);  // the kernel drops its lookup reference
  CHECK(m->getattr(f)->nlink == 0);
  std::string back(data.size(), '\0');
  CHECK(*m->read(f, 0, back.size(), back.data()) == data.size());
  CHECK(back == data);
  REQUIRE(m->sync() == 0);
  m->release(f);
  CHECK(m->getattr(f).err() == -ENOENT);
  m->sync();
  CHECK(m->statfs()->blocks_free >= free_before + 24);
}

TEST_CASE("unlinked and not open: the blocks are free at once, the inode when the kernel forgets it") {
  MemFs m;
  fs::Ino f = mkfile(m, kRootIno, "a");
  std::string data(400000, 'q');
  REQUIRE(*m->write(f, 0, data.data(), data.size()) == data.size());
  REQUIRE(m->sync() == 0);
  auto before = *m->statfs();
  CHECK(m->unlink(kRootIno, "a") == 0);
  // The kernel still holds the inode (no FORGET yet), as after rm(1) until it evicts it.
  auto after = *m->statfs();
  CHECK(after.blocks_free >= before.blocks_free + 97);
  CHECK(after.files_free == before.files_free);
  CHECK(m->getattr(f)->nlink == 0);
  CHECK(m->getattr(f)->size == 0);
  // FORGET frees the inode number; nothing of the file comes back at the next mount.
  REQUIRE(m->sync() == 0);
  m->forget(f, 1);
  CHECK(m->getattr(f).err() == -ENOENT);
  CHECK(m->statfs()->files_free == before.files_free + 1);
  m.remount();
  CHECK(m->statfs()->blocks_free >= before.blocks_free + 97);
}

TEST_CASE("orphans survive a crash and are freed at the next mount") {
  MemFs m;
  uint64_t files_free = m->statfs()->files_free;
  fs::Ino f = mkfile(m, kRootIno, "a");
  REQUIRE(m->write(f, 0, "x", 1).ok());
  REQUIRE(m->open(f) == 0);
  REQUIRE(m->unlink(kRootIno, "a") == 0);
  REQUIRE(m->sync() == 0);
  // "Crash": drop the filesystem object without unmount() (the device keeps what was synced).
  auto copy = m.dev.bytes();
  m.fs.reset();  // the destructor unmounts; restore the crashed image instead
  m.dev.bytes() = copy;
  m.mount();
  CHECK(m->was_unclean());
  CHECK(m->statfs()->files_free == files_free);
}

TEST_CASE("tmpfile: an unnamed orphan until linked; a crash before the link frees it") {
  MemFs m;
  uint64_t files_free = m->statfs()->files_free;
  fs::Ino d = mkdir_(m, kRootIno, "d");
  auto t = m->tmpfile(root, d, 0600);
  REQUIRE(t.ok());
  CHECK(t->nlink == 0);
  CHECK(S_ISREG(t->mode));
  CHECK(list(m, d).size() == 2);  // "." and ".."
  REQUIRE(m->open(t->ino) == 0);
  REQUIRE(m->write(t->ino, 0, "data", 4).ok());
  REQUIRE(m->sync() == 0);
  {
    // A crash while it is unnamed: the next mount frees it.
    auto copy = m.dev.bytes();
    MemFs crashed;
    crashed.fs.reset();
    crashed.dev.bytes() = copy;
    crashed.mount();
    CHECK(crashed->was_unclean());
    CHECK(crashed->statfs()->files_free == files_free - 1);  // only "d" is left
  }
  auto l = m->link(t->ino, d, "named");
  REQUIRE(l.ok());
  CHECK(l->nlink == 1);
  m->release(t->ino);
  m->forget(t->ino, 2);
  m.remount();
  auto back = m->lookup(d, "named");
  REQUIRE(back.ok());
  char buf[4];
  CHECK(*m->read(back->ino, 0, 4, buf) == 4);
  CHECK(std::string(buf, 4) == "data");
  // Not open and no name: link refuses it (only an open O_TMPFILE file can be linked).
  auto u = m->tmpfile(root, d, 0600);
  REQUIRE(u.ok());
  CHECK(m->link(u->ino, d, "late").err() == -ENOENT);
  CHECK(m->tmpfile(root, back->ino, 0600).err() == -ENOTDIR);
}

TEST_CASE("rename: plain, over a file, over an empty directory, errors") {
  MemFs m;
  fs::Ino a = mkfile(m, kRootIno, "a");
  fs::Ino b = mkfile(m, kRootIno, "b");
  fs::Ino d1 = mkdir_(m, kRootIno, "d1");
  fs::Ino d2 = mkdir_(m, kRootIno, "d2");
  CHECK(m->rename(kRootIno, "a", kRootIno, "a2", 0) == 0);
  CHECK(m->lookup(kRootIno, "a").err() == -ENOENT);
  CHECK(m->lookup(kRootIno, "a2")->ino == a);
  // Over an existing file: the old target loses its name.
  CHECK(m->rename(kRootIno, "a2", kRootIno, "b", 0) == 0);
  CHECK(m->lookup(kRootIno, "b")->ino == a);
  CHECK(m->getattr(b)->nlink == 0);
  m->forget(b, 1);
  CHECK(m->getattr(b).err() == -ENOENT);
  // Same inode: no-op.
  REQUIRE(m->link(a, kRootIno, "hl").ok());
  CHECK(m->rename(kRootIno, "b", kRootIno, "hl", 0) == 0);
  CHECK(m->lookup(kRootIno, "b").ok());
  CHECK(m->lookup(kRootIno, "hl").ok());
  // Directory into another: .. and link counts follow.
  fs::Ino sub = mkdir_(m, d1, "sub");
  CHECK(m->getattr(d1)->nlink == 3);
  CHECK(m->rename(d1, "sub", d2, "sub", 0) == 0);
  CHECK(m->getattr(d1)->nlink == 2);
  CHECK(m->getattr(d2)->nlink == 3);
  CHECK(m->lookup(sub, "..")->ino == d2);
  CHECK(list(m, sub)[".."] == d2);
  // Over an empty directory / a non-empty one / type mismatches.
  fs::Ino e = mkdir_(m, d1, "empty");
  CHECK(m->rename(d2, "sub", d1, "empty", 0) == 0);
  CHECK(m->getattr(e)->nlink == 0);
  CHECK(m->getattr(d1)->nlink == 3);
  CHECK(m->getattr(d2)->nlink == 2);
  mkfile(m, d1, "f");
  mkdir_(m, d2, "full");
  mkfile(m, m->lookup(d2, "full")->ino, "x");
  CHECK(m->rename(d1, "empty", d2, "full", 0) == -ENOTEMPTY);
  CHECK(m->rename(d1, "f", d1, "empty", 0) == -EISDIR);
  CHECK(m->rename(d1, "empty", d1, "f", 0) == -ENOTDIR);
  // Into its own subtree.
  CHECK(m->rename(kRootIno, "d1", d1, "x", 0) == -EINVAL);
  CHECK(m->rename(kRootIno, "d1", sub, "x", 0) == -EINVAL);
  CHECK(m->rename(kRootIno, "nope", kRootIno, "x", 0) == -ENOENT);
  CHECK(m->rename(kRootIno, "b", kRootIno, "c", 0x80) == -EINVAL);
}

TEST_CASE("rename: RENAME_NOREPLACE and RENAME_EXCHANGE") {
  MemFs m;
  fs::Ino a = mkfile(m, kRootIno, "a");
  fs::Ino b = mkfile(m, kRootIno, "b");
  fs::Ino d = mkdir_(m, kRootIno, "d");
  fs::Ino d2 = mkdir_(m, kRootIno, "d2");
  CHECK(m->rename(kRootIno, "a", kRootIno, "b", RENAME_NOREPLACE) == -EEXIST);
  CHECK(m->rename(kRootIno, "a", kRootIno, "c", RENAME_NOREPLACE) == 0);
  CHECK(m->rename(kRootIno, "c", kRootIno, "zz", RENAME_EXCHANGE) == -ENOENT);
  CHECK(m->rename(kRootIno, "c", kRootIno, "b", RENAME_EXCHANGE) == 0);
  CHECK(m->lookup(kRootIno, "c")->ino == b);
  CHECK(m->lookup(kRootIno, "b")->ino == a);
  // Exchange a file in the root with a directory inside d2: link counts and "..".
  CHECK(m->rename(kRootIno, "c", d2, "x", 0) == 0);
  CHECK(m->rename(d2, "x", kRootIno, "d", RENAME_EXCHANGE) == 0);
  CHECK(m->lookup(kRootIno, "d")->ino == b);
  CHECK(m->lookup(d2, "x")->ino == d);
  CHECK(m->lookup(d, "..")->ino == d2);
  CHECK(m->getattr(kRootIno)->nlink == 3);  // d2 only
  CHECK(m->getattr(d2)->nlink == 3);
  CHECK(m->rename(kRootIno, "b", kRootIno, "b", RENAME_NOREPLACE | RENAME_EXCHANGE) == -EINVAL);
}

TEST_CASE("symlinks: fast and block, readlink, persistence") {
  MemFs m;
  std::string shortt = "target/of/link";
  std::string longt(3000, 'L');
  auto s = m->symlink(root, kRootIno, "s", shortt);
  REQUIRE(s.ok());
  CHECK(S_ISLNK(s->mode));
  CHECK(s->size == shortt.size());
  CHECK(s->blocks == 0);
  auto l = m->symlink(root, kRootIno, "l", longt);
  REQUIRE(l.ok());
  CHECK(l->size == longt.size());
  CHECK(l->blocks == 8);
  CHECK(*m->readlink(s->ino) == shortt);
  CHECK(*m->readlink(l->ino) == longt);
  CHECK(m->symlink(root, kRootIno, "x", std::string(5000, 'y')).err() == -ENAMETOOLONG);
  CHECK(m->readlink(kRootIno).err() == -EINVAL);
  m.remount();
  CHECK(*m->readlink(m->lookup(kRootIno, "s")->ino) == shortt);
  CHECK(*m->readlink(m->lookup(kRootIno, "l")->ino) == longt);
  CHECK(m->unlink(kRootIno, "l") == 0);
}

TEST_CASE("setattr: chmod, chown clears setuid/setgid, utimes, ctime") {
  MemFs m;
  fs::Ino f = mkfile(m, kRootIno, "f", 06755);
  CHECK((m->getattr(f)->mode & 07777) == 06755);
  fs::SetAttr s;
  s.fields = fs::SetAttr::kUid | fs::SetAttr::kGid;
  s.uid = 1000;
  s.gid = 1000;
  auto a = m->setattr(f, s);
  REQUIRE(a.ok());
  CHECK(a->uid == 1000);
  CHECK((a->mode & 07777) == 0755);
  // setgid without group-exec survives chown.
  fs::SetAttr c;
  c.fields = fs::SetAttr::kMode;
  c.mode = 02644;
  REQUIRE(m->setattr(f, c).ok());
  s.uid = 1001;
  CHECK((m->setattr(f, s)->mode & 07777) == 02644);
  fs::SetAttr t;
  t.fields = fs::SetAttr::kAtime | fs::SetAttr::kMtime;
  t.atime = {1000, 5};
  t.mtime = {2000, 7};
  a = m->setattr(f, t);
  CHECK(a->atime.tv_sec == 1000);
  CHECK(a->atime.tv_nsec == 5);
  CHECK(a->mtime.tv_sec == 2000);
  CHECK(a->mtime.tv_nsec == 7);
  CHECK(a->ctime.tv_sec > 2000);
  m.remount();
  a = m->getattr(f);
  CHECK(a->mtime.tv_nsec == 7);
  CHECK(a->uid == 1001);
}

TEST_CASE("setgid directories: group and S_ISGID inherited") {
  MemFs m;
  fs::Ino d = mkdir_(m, kRootIno, "d");
  fs::SetAttr s;
  s.fields = fs::SetAttr::kMode | fs::SetAttr::kGid;
  s.mode = 02775;
  s.gid = 50;
  REQUIRE(m->setattr(d, s).ok());
  fs::Caller user{1000, 1000};
  auto f = m->mknod(user, d, "f", S_IFREG | 0644, 0);
  CHECK(f->gid == 50);
  CHECK(f->uid == 1000);
  CHECK((f->mode & S_ISGID) == 0);
  auto sub = m->mkdir(user, d, "sub", 0755);
  CHECK(sub->gid == 50);
  CHECK((sub->mode & S_ISGID) != 0);
  auto g = m->mknod(user, kRootIno, "g", S_IFREG | 0644, 0);
  CHECK(g->gid == 1000);
}

TEST_CASE("read-only: every change is EROFS, reads work") {
  MemFs m;
  fs::Ino f = mkfile(m, kRootIno, "f");
  REQUIRE(m->write(f, 0, "abc", 3).ok());
  REQUIRE(m->set_read_only(true) == 0);
  CHECK(m->mknod(root, kRootIno, "g", S_IFREG | 0644, 0).err() == -EROFS);
  CHECK(m->write(f, 0, "x", 1).err() == -EROFS);
  CHECK(m->unlink(kRootIno, "f") == -EROFS);
  CHECK(m->setxattr(f, "user.a", "b", 0) == -EROFS);
  char buf[3];
  CHECK(*m->read(f, 0, 3, buf) == 3);
  REQUIRE(m->set_read_only(false) == 0);
  CHECK(m->write(f, 3, "d", 1).ok());
}

TEST_CASE("access") {
  MemFs m;
  fs::Ino f = mkfile(m, kRootIno, "f", 0640);
  fs::SetAttr s;
  s.fields = fs::SetAttr::kUid | fs::SetAttr::kGid;
  s.uid = 10;
  s.gid = 20;
  REQUIRE(m->setattr(f, s).ok());
  CHECK(m->access({10, 99}, f, R_OK | W_OK) == 0);
  CHECK(m->access({11, 20}, f, R_OK) == 0);
  CHECK(m->access({11, 20}, f, W_OK) == -EACCES);
  CHECK(m->access({11, 21}, f, R_OK) == -EACCES);
  CHECK(m->access({0, 0}, f, R_OK | W_OK) == 0);
  CHECK(m->access({0, 0}, f, X_OK) == -EACCES);
  CHECK(m->access({11, 21}, f, F_OK) == 0);
}

TEST_CASE("lookup of \".\" resolves any live inode (file handles); a reused number has a new generation") {
  MemFs m(64ull << 20, 64);
  fs::Ino f = mkfile(m, kRootIno, "f");
  auto self = m->lookup(f, ".");
  REQUIRE(self.ok());
  CHECK(self->ino == f);
  auto gen = m->getattr(f)->generation;
  CHECK(self->generation == gen);
  m->forget(f, 2);
  // The inode number comes back after the allocator wraps around; its generation differs.
  REQUIRE(m->unlink(kRootIno, "f") == 0);
  CHECK(m->lookup(f, ".").err() == -ENOENT);  // free: the kernel answers ESTALE
  bool reused = false;
  for (int i = 0; i < 200 && !reused; ++i) {
    std::string n = "n" + std::to_string(i);
    fs::Ino x = mkfile(m, kRootIno, n);
    if (x == f) {
      reused = true;
      CHECK(m->getattr(x)->generation != gen);
    } else {
      REQUIRE(m->unlink(kRootIno, n) == 0);
    }
    m->forget(x, 1);
  }
  CHECK(reused);
  fs::Ino d = mkdir_(m, kRootIno, "d");
  CHECK(m->lookup(d, "..")->ino == kRootIno);
  CHECK(m->lookup(d, ".")->ino == d);
}

TEST_CASE("RENAME_WHITEOUT leaves a 0:0 character device owned by the caller at the old name") {
  MemFs m;
  fs::Ino a = mkfile(m, kRootIno, "a");
  fs::Caller who{1234, 5678};
  CHECK(m->rename(kRootIno, "a", kRootIno, "b", RENAME_WHITEOUT | RENAME_EXCHANGE, who) == -EINVAL);
  REQUIRE(m->rename(kRootIno, "a", kRootIno, "b", RENAME_WHITEOUT, who) == 0);
  CHECK(m->lookup(kRootIno, "b")->ino == a);
  auto w = m->lookup(kRootIno, "a");
  REQUIRE(w.ok());
  CHECK(w->mode == S_IFCHR);
  CHECK(w->rdev == 0);
  CHECK(w->uid == 1234);
  CHECK(w->gid == 5678);
  mkfile(m, kRootIno, "c");
  CHECK(m->rename(kRootIno, "b", kRootIno, "c", RENAME_WHITEOUT | RENAME_NOREPLACE, who) == -EEXIST);
  REQUIRE(m->rename(kRootIno, "b", kRootIno, "c", RENAME_WHITEOUT, who) == 0);
  CHECK(list(m, kRootIno).size() == 5);  // ".", "..", the whiteouts a and b, c
}
