// Write errors of file data reach fsync as ext4 reports them (errseq): once per open file,
// also to files opened after the error until an fsync returned it, never to other files.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "fs/format/superblock.h"
#include "fs/meta/filesystem.h"
#include "fs/meta/mkfs.h"
#include "io/borrowed_device.h"
#include "io/faulty_device.h"
#include "io/mem_device.h"

using namespace chainfs;

TEST_CASE("a data write error is returned once per cursor, and only to its file") {
  io::MemDevice mem(64ull << 20);
  std::string msg;
  REQUIRE(fs::make_filesystem(mem, {}, &msg) == 0);
  format::Superblock sb;
  REQUIRE(format::decode_superblock(mem.bytes().data(), mem.size_bytes() / 4096, &sb, &msg) == 0);
  io::FaultyDevice faulty(mem, false);
  fs::MountOptions mo;
  mo.flush_interval_s = 3600;
  auto m = fs::mount_filesystem(std::make_unique<io::BorrowedDevice>(faulty), mo, &msg);
  REQUIRE_MESSAGE(m.ok(), msg);
  fs::Filesystem& f = **m;
  auto a = f.mknod({}, fs::kRootIno, "a", S_IFREG | 0644, 0);
  auto b = f.mknod({}, fs::kRootIno, "b", S_IFREG | 0644, 0);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const std::string data(1 << 20, 'x');
  REQUIRE(f.write(b->ino, 0, data.data(), 65536).ok());
  REQUIRE(f.fsync(b->ino, false) == 0);
  uint64_t c1 = f.write_error_cursor(a->ino), c2 = f.write_error_cursor(a->ino);

  const uint64_t data_bytes = sb.data_start * 4096;
  faulty.fail_range(data_bytes, mem.size_bytes() - data_bytes, io::FaultyDevice::kWrite);
  REQUIRE(f.write(a->ino, 0, data.data(), data.size()).ok());
  CHECK(f.fsync_file(a->ino, false, &c1) == -EIO);
  CHECK(f.fsync_file(a->ino, false, &c1) == 0);  // seen
  CHECK(f.fsync_file(a->ino, false, &c2) == -EIO);  // every cursor taken before sees it
  CHECK(f.fsync_file(a->ino, false, &c2) == 0);
  uint64_t c3 = f.write_error_cursor(a->ino);  // taken after an fsync returned it
  CHECK(f.fsync_file(a->ino, false, &c3) == 0);
  CHECK(f.fsync(b->ino, false) == 0);

  // a's pages fail again, written back by b's fsync: the error is a's, not b's.
  REQUIRE(f.write(a->ino, 0, data.data(), data.size()).ok());
  CHECK(f.fsync(b->ino, false) == 0);
  uint64_t c4 = f.write_error_cursor(a->ino);  // not returned yet: this cursor sees it too
  CHECK(f.fsync_file(a->ino, false, &c1) == -EIO);
  CHECK(f.fsync_file(a->ino, false, &c4) == -EIO);
  CHECK(f.fsync_file(a->ino, false, &c1) == 0);

  faulty.clear_faults();
  REQUIRE(f.write(a->ino, 0, data.data(), data.size()).ok());
  CHECK(f.fsync_file(a->ino, false, &c1) == 0);
  CHECK(f.fsync_file(a->ino, false, &c2) == -EIO);  // the second error, which c2 has not seen
  CHECK(f.fsync_file(a->ino, false, &c2) == 0);
  CHECK(f.unmount() == 0);
}
