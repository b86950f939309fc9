#include "fs/fuse/caller_privs.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace chainfs::fuse;

TEST_CASE("a /proc status text gives the supplementary groups and CAP_FSETID") {
  CallerPrivs p;
  REQUIRE(parse_proc_status("Name:\tsh\nGid:\t5\t5\t5\t5\nGroups:\t10 20 30 \nCapEff:\t0000000000000010\n", &p));
  CHECK(p.groups == std::vector<uint32_t>{10, 20, 30});
  CHECK(p.cap_fsetid);  // bit 4
  CallerPrivs q;
  REQUIRE(parse_proc_status("Groups:\t\nCapEff:\t00000000000000ef\n", &q));
  CHECK(q.groups.empty());
  CHECK_FALSE(q.cap_fsetid);
  CallerPrivs r;
  CHECK_FALSE(parse_proc_status("Groups:\t1\n", &r));
}

TEST_CASE("a data change drops set-user-ID always and set-group-ID by the kernel's rule") {
  CallerPrivs user;
  user.gid = 1000;
  CHECK(privs_to_drop(S_IFREG | 06666, 0, user) == (S_ISUID | S_ISGID));  // outside the group
  CHECK(privs_to_drop(S_IFREG | 06666, 1000, user) == S_ISUID);          // group member, no g+x
  CHECK(privs_to_drop(S_IFREG | 06676, 1000, user) == (S_ISUID | S_ISGID));  // g+x: setgid meaning
  user.groups = {7};
  CHECK(privs_to_drop(S_IFREG | 02666, 7, user) == 0);  // supplementary group member
  CHECK(privs_to_drop(S_IFREG | 00666, 0, user) == 0);
  CHECK(privs_to_drop(S_IFDIR | 06777, 0, user) == 0);
  CallerPrivs root;
  root.cap_fsetid = true;
  CHECK(privs_to_drop(S_IFREG | 06777, 5, root) == 0);
}

TEST_CASE("this process's own credentials are read from /proc") {
  CallerPrivs p = caller_privs(gettid(), getuid(), getgid());
  CHECK(p.gid == getgid());
  CHECK(p.cap_fsetid == (geteuid() == 0));  // the tests run as root or as a plain user
}
