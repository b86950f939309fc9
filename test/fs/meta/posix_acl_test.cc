// POSIX ACLs: the value codec and its rules, and what the metadata layer does with them
// (mode consistency, chmod, inheritance on create, the umask, storage across a remount).
#include "fs/meta/posix_acl.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <string>

#include "fs/format/endian.h"
#include "test/fs/meta/meta_fixture.h"

using namespace chainfs;
using chainfs::test::MemFs;
using fs::kRootIno;
namespace acl = fs::acl;

namespace {
constexpr uint32_t kNone = acl::kUndefinedId;

// u:: rwx, u:1000: perm_user, g:: group, m:: mask, o:: other
acl::Acl named_user(uint16_t owner, uint16_t user, uint16_t group, uint16_t mask, uint16_t other) {
  return {{acl::kUserObj, owner, kNone},
          {acl::kUser, user, 1000},
          {acl::kGroupObj, group, kNone},
          {acl::kMask, mask, kNone},
          {acl::kOther, other, kNone}};
}
acl::Acl base_acl(uint16_t owner, uint16_t group, uint16_t other) {
  return {{acl::kUserObj, owner, kNone}, {acl::kGroupObj, group, kNone}, {acl::kOther, other, kNone}};
}
std::string raw(std::initializer_list<acl::Entry> es) { return acl::encode(acl::Acl(es)); }

std::string get(MemFs& m, fs::Ino ino, std::string_view name) {
  auto n = m->getxattr(ino, name, nullptr, 0);
  if (!n) return "err " + std::to_string(n.err());
  std::string v(*n, '\0');
  REQUIRE(*m->getxattr(ino, name, v.data(), v.size()) == *n);
  return v;
}
uint32_t perms(MemFs& m, fs::Ino ino) { return m->getattr(ino)->mode & 07777; }
}  // namespace

TEST_CASE("ACL codec: the kernel's byte layout, round trip") {
  acl::Acl a = named_user(7, 6, 5, 6, 4);
  std::string v = acl::encode(a);
  REQUIRE(v.size() == 4 + 5 * 8);
  CHECK(format::load_le32(v.data()) == 2);
  CHECK(format::load_le16(v.data() + 4 + 8) == acl::kUser);
  CHECK(format::load_le16(v.data() + 4 + 8 + 2) == 6);
  CHECK(format::load_le32(v.data() + 4 + 8 + 4) == 1000);
  acl::Acl back;
  REQUIRE(acl::decode(v, &back) == 0);
  CHECK(back == a);
  // Ids of entries without one are ignored on input (the kernel sends -1 for them).
  std::string odd = v;
  format::store_le32(odd.data() + 4 + 4, 12345);
  REQUIRE(acl::decode(odd, &back) == 0);
  CHECK(back == a);
  REQUIRE(acl::decode(acl::encode({}), &back) == 0);
  CHECK(back.empty());
}

TEST_CASE("ACL codec: garbage and invalid lists are EINVAL") {
  acl::Acl out;
  std::string good = acl::encode(base_acl(6, 4, 4));
  CHECK(acl::decode("", &out) == -EINVAL);
  CHECK(acl::decode("x", &out) == -EINVAL);
  CHECK(acl::decode(good.substr(0, good.size() - 1), &out) == -EINVAL);  // partial entry
  std::string v1 = good;
  format::store_le32(v1.data(), 1);  // version
  CHECK(acl::decode(v1, &out) == -EOPNOTSUPP);
  // Missing owner / group / other; duplicates; wrong order; permission bits beyond rwx.
  CHECK(acl::decode(raw({{acl::kGroupObj, 4, kNone}, {acl::kOther, 4, kNone}}), &out) == -EINVAL);
  CHECK(acl::decode(raw({{acl::kUserObj, 6, kNone}, {acl::kOther, 4, kNone}}), &out) == -EINVAL);
  CHECK(acl::decode(raw({{acl::kUserObj, 6, kNone}, {acl::kGroupObj, 4, kNone}}), &out) == -EINVAL);
  CHECK(acl::decode(raw({{acl::kUserObj, 6, kNone}, {acl::kUserObj, 6, kNone}, {acl::kGroupObj, 4, kNone},
                         {acl::kOther, 4, kNone}}),
                    &out) == -EINVAL);
  CHECK(acl::decode(raw({{acl::kGroupObj, 4, kNone}, {acl::kUserObj, 6, kNone}, {acl::kOther, 4, kNone}}),
                    &out) == -EINVAL);
  CHECK(acl::decode(raw({{acl::kUserObj, 8, kNone}, {acl::kGroupObj, 4, kNone}, {acl::kOther, 4, kNone}}),
                    &out) == -EINVAL);
  CHECK(acl::decode(raw({{acl::kUserObj, 6, kNone}, {0x40, 4, kNone}, {acl::kGroupObj, 4, kNone},
                         {acl::kOther, 4, kNone}}),
                    &out) == -EINVAL);
  // A named entry needs a mask, and an id.
  acl::Acl no_mask = named_user(7, 6, 5, 6, 4);
  no_mask.erase(no_mask.begin() + 3);
  CHECK(acl::decode(acl::encode(no_mask), &out) == -EINVAL);
  acl::Acl no_id = named_user(7, 6, 5, 6, 4);
  no_id[1].id = kNone;
  CHECK(acl::decode(acl::encode(no_id), &out) == -EINVAL);
  // A mask alone (no named entries) is valid, as are unsorted named entries (the kernel's rule).
  CHECK(acl::decode(raw({{acl::kUserObj, 6, kNone}, {acl::kGroupObj, 4, kNone}, {acl::kMask, 4, kNone},
                         {acl::kOther, 4, kNone}}),
                    &out) == 0);
  CHECK(acl::decode(raw({{acl::kUserObj, 6, kNone}, {acl::kUser, 4, 20}, {acl::kUser, 4, 10},
                         {acl::kGroupObj, 4, kNone}, {acl::kMask, 4, kNone}, {acl::kOther, 4, kNone}}),
                    &out) == 0);
}

TEST_CASE("ACL rules: equivalent mode, chmod, inheritance") {
  uint32_t mode = S_IFREG | S_ISGID | 0777;
  CHECK(acl::equiv_mode(base_acl(6, 4, 0), &mode));
  CHECK(mode == (S_IFREG | S_ISGID | 0640));
  CHECK_FALSE(acl::equiv_mode(named_user(7, 6, 5, 3, 1), &mode));
  CHECK((mode & 0777) == 0731);  // the group class shows the mask

  acl::Acl a = named_user(7, 6, 5, 6, 4);
  acl::chmod(&a, 0751);
  CHECK(a == named_user(7, 6, 5, 5, 1));  // the mask, not the owning group, takes g
  acl::Acl b = base_acl(6, 4, 4);
  acl::chmod(&b, 0700);
  CHECK(b == base_acl(7, 0, 0));

  // A default ACL rwx for everyone, named user rw, and a file created 0640: the entries are
  // masked by the mode, and the mode's group bits become the mask's.
  acl::Acl d = named_user(7, 6, 7, 7, 7);
  uint32_t fmode = S_IFREG | 0640;
  CHECK(acl::create_masq(&d, &fmode));
  CHECK(d == named_user(6, 6, 7, 4, 0));
  CHECK(fmode == (S_IFREG | 0640));
  acl::Acl e = base_acl(7, 5, 0);
  uint32_t dmode = S_IFDIR | 0777;
  CHECK_FALSE(acl::create_masq(&e, &dmode));  // base entries only: the mode says it all
  CHECK(dmode == (S_IFDIR | 0750));
}

TEST_CASE("ACLs on a filesystem: access ACL sets the mode, chmod updates the mask") {
  MemFs m;
  fs::Caller me{1000, 1000, 022};
  auto f = m->mknod(me, kRootIno, "f", S_IFREG | 0666, 0);
  REQUIRE(f.ok());
  CHECK(perms(m, f->ino) == 0644);  // umask without a default ACL
  CHECK(get(m, f->ino, acl::kAccessName) == "err " + std::to_string(-ENODATA));

  std::string v = acl::encode(named_user(6, 6, 4, 6, 0));
  REQUIRE(m->setxattr(f->ino, acl::kAccessName, v, 0) == 0);
  CHECK(perms(m, f->ino) == 0660);
  CHECK(get(m, f->ino, acl::kAccessName) == v);
  size_t need = *m->listxattr(f->ino, nullptr, 0);
  std::string names(need, '\0');
  REQUIRE(*m->listxattr(f->ino, names.data(), need) == need);
  CHECK(names == std::string("system.posix_acl_access\0", need));
  // The storage names are not reachable from outside.
  CHECK(m->getxattr(f->ino, "trusted.chainfs.posix_acl_access", nullptr, 0).err() == -EOPNOTSUPP);
  CHECK(m->setxattr(f->ino, "trusted.chainfs.posix_acl_access", v, 0) == -EOPNOTSUPP);

  fs::SetAttr chmod;
  chmod.fields = fs::SetAttr::kMode;
  chmod.mode = 0640;
  REQUIRE(m->setattr(f->ino, chmod).ok());
  CHECK(get(m, f->ino, acl::kAccessName) == acl::encode(named_user(6, 6, 4, 4, 0)));
  m.remount();
  CHECK(get(m, f->ino, acl::kAccessName) == acl::encode(named_user(6, 6, 4, 4, 0)));
  CHECK(perms(m, f->ino) == 0640);

  // A list of base entries only is the mode: nothing is stored; set-group-ID goes when
  // the caller may not keep it.
  chmod.mode = S_ISGID | 0640;
  REQUIRE(m->setattr(f->ino, chmod).ok());
  REQUIRE(m->setxattr(f->ino, acl::kAccessName, acl::encode(base_acl(7, 5, 5)), 0, true) == 0);
  CHECK(perms(m, f->ino) == 0755);
  CHECK(get(m, f->ino, acl::kAccessName) == "err " + std::to_string(-ENODATA));
  CHECK(*m->listxattr(f->ino, nullptr, 0) == 0);
  // Removing an ACL that is not there succeeds; garbage is refused; no default ACL on files.
  CHECK(m->removexattr(f->ino, acl::kAccessName) == 0);
  CHECK(m->setxattr(f->ino, acl::kAccessName, "garbage!", 0) == -EINVAL);
  CHECK(m->setxattr(f->ino, acl::kDefaultName, acl::encode(base_acl(7, 5, 5)), 0) == -EACCES);
  auto l = m->symlink(me, kRootIno, "l", "f");
  CHECK(m->setxattr(l->ino, acl::kAccessName, v, 0) == -EOPNOTSUPP);
}

TEST_CASE("ACLs on a filesystem: default ACL inheritance on create and mkdir") {
  MemFs m;
  fs::Caller me{1000, 1000, 077};  // a umask the default ACL overrides
  auto d = m->mkdir(me, kRootIno, "d", 0777);
  REQUIRE(d.ok());
  CHECK(perms(m, d->ino) == 0700);
  std::string def = acl::encode(named_user(7, 7, 5, 7, 5));
  REQUIRE(m->setxattr(d->ino, acl::kDefaultName, def, 0) == 0);
  CHECK(perms(m, d->ino) == 0700);  // a default ACL leaves the mode alone

  auto f = m->mknod(me, d->ino, "f", S_IFREG | 0666, 0);
  REQUIRE(f.ok());
  CHECK(perms(m, f->ino) == 0664);
  CHECK(get(m, f->ino, acl::kAccessName) == acl::encode(named_user(6, 7, 5, 6, 4)));
  CHECK(get(m, f->ino, acl::kDefaultName) == "err " + std::to_string(-ENODATA));

  auto sub = m->mkdir(me, d->ino, "sub", 0755);
  REQUIRE(sub.ok());
  CHECK(perms(m, sub->ino) == 0755);
  CHECK(get(m, sub->ino, acl::kAccessName) == acl::encode(named_user(7, 7, 5, 5, 5)));
  CHECK(get(m, sub->ino, acl::kDefaultName) == def);

  // Symlinks get no ACL; a default ACL of base entries gives the mode only.
  auto l = m->symlink(me, d->ino, "l", "f");
  REQUIRE(l.ok());
  CHECK(*m->listxattr(l->ino, nullptr, 0) == 0);
  REQUIRE(m->setxattr(d->ino, acl::kDefaultName, acl::encode(base_acl(6, 0, 0)), 0) == 0);
  auto g = m->mknod(me, d->ino, "g", S_IFREG | 0666, 0);
  REQUIRE(g.ok());
  CHECK(perms(m, g->ino) == 0600);
  CHECK(*m->listxattr(g->ino, nullptr, 0) == 0);
  // Removing the default ACL: the umask applies again.
  REQUIRE(m->removexattr(d->ino, acl::kDefaultName) == 0);
  auto h = m->mknod(me, d->ino, "h", S_IFREG | 0666, 0);
  CHECK(perms(m, h->ino) == 0600);
}
