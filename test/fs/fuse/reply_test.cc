#include "fs/fuse/reply.h"

#include <doctest/doctest.h>

#include <cerrno>

#include "base/result.h"

using namespace chainfs::fuse;

TEST_CASE("the single errno translation: corruption becomes EIO, others pass through") {
  CHECK(to_reply_errno(0, "op", 1) == 0);
  CHECK(to_reply_errno(-ENOENT, "lookup", 1) == ENOENT);
  CHECK(to_reply_errno(-ENOSPC, "write", 5) == ENOSPC);
  CHECK(to_reply_errno(-chainfs::kCorrupt, "getattr", 7) == EIO);
  CHECK(to_reply_errno(-EIO, "read", 7) == EIO);
  CHECK(to_reply_errno(-100000, "read", 7) == EIO);  // not an errno: never passed on
}
