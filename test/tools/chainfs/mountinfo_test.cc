#include "tools/chainfs/mountinfo.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace chainfs::daemon;

TEST_CASE("a FUSE mountinfo line is split into its fields") {
  auto e = parse_mountinfo_line(
      "42 27 0:39 / /tmp/cfm1 ro,nosuid,nodev,relatime shared:5 - fuse.chainfs /tmp/cf1.img "
      "ro,user_id=0,group_id=0,default_permissions");
  REQUIRE(e);
  CHECK(e->dev == "0:39");
  CHECK(e->mount_point == "/tmp/cfm1");
  CHECK(e->mount_opts == "ro,nosuid,nodev,relatime");
  CHECK(e->fstype == "fuse.chainfs");
  CHECK(e->source == "/tmp/cf1.img");
  CHECK(e->super_opts == "ro,user_id=0,group_id=0,default_permissions");
  CHECK(has_option(e->super_opts, "ro"));
  CHECK_FALSE(has_option(e->super_opts, "r"));
  CHECK_FALSE(has_option(e->mount_opts, "rw"));
}

TEST_CASE("escaped spaces in mount points are decoded; malformed lines are refused") {
  auto e = parse_mountinfo_line("50 27 0:40 / /mnt/with\\040space rw - fuse /dev/loop0 rw");
  REQUIRE(e);
  CHECK(e->mount_point == "/mnt/with space");
  CHECK_FALSE(parse_mountinfo_line("garbage"));
  CHECK_FALSE(parse_mountinfo_line("1 2 3 4 5 6 7 8 9 10"));  // no separator
}

TEST_CASE("find_mount returns the topmost mount on a path") {
  char name[] = "/tmp/chainfs-mountinfo-XXXXXX";
  int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(name);
    out << "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        << "42 1 0:39 / /mnt/x rw - fuse.chainfs /a.img rw\n"
        << "43 42 0:41 / /mnt/x rw - fuse /b.img rw\n";
  }
  auto e = find_mount("/mnt/x", name);
  REQUIRE(e);
  CHECK(e->dev == "0:41");
  CHECK(e->source == "/b.img");
  CHECK_FALSE(find_mount("/mnt/y", name));
  std::remove(name);
}
