// Encode/decode round trips and checksum/structure rejection for every format v1 structure.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fs/format/bitmap.h"
#include "fs/format/dirent.h"
#include "fs/format/extent.h"
#include "fs/format/inode.h"
#include "fs/format/superblock.h"
#include "fs/format/xattr.h"

using namespace chainfs::format;
using chainfs::kBlockSize;

namespace {
Superblock sample_sb(uint64_t blocks = 262144) {
  Superblock sb;
  std::string why;
  REQUIRE(plan_layout(blocks, 0, &sb, &why) == 0);
  sb.label = "my-label";
  for (size_t i = 0; i < 16; ++i) sb.uuid[i] = static_cast<uint8_t>(i * 7);
  sb.mount_count = 3;
  sb.mkfs_time = 1700000000;
  sb.orphan_head = 12;
  sb.next_generation = 99;
  return sb;
}
}  // namespace

TEST_CASE("superblock: round trip, crc, magic, absurd fields") {
  Superblock sb = sample_sb();
  std::vector<char> b(kBlockSize);
  encode_superblock(sb, b.data());
  Superblock d;
  std::string why;
  REQUIRE(decode_superblock(b.data(), sb.block_count, &d, &why) == 0);
  CHECK(d.label == "my-label");
  CHECK(d.uuid == sb.uuid);
  CHECK(d.block_count == sb.block_count);
  CHECK(d.inode_table_start == sb.inode_table_start);
  CHECK(d.orphan_head == 12);
  CHECK(d.next_generation == 99);
  CHECK(d.compat == kCompatJournalReserved);
  CHECK(d.journal_blocks > 0);

  auto bad = b;
  bad[sb_off::kBlockCount] ^= 1;
  CHECK(decode_superblock(bad.data(), sb.block_count, &d, &why) == -EUCLEAN);
  CHECK(why.find("checksum") != std::string::npos);
  bad = b;
  bad[0] = 'X';
  CHECK(decode_superblock(bad.data(), sb.block_count, &d, &why) == -EINVAL);
  CHECK(why.find("magic") != std::string::npos);
  // Truncated device.
  CHECK(decode_superblock(b.data(), sb.block_count - 1, &d, &why) == -EUCLEAN);
  CHECK(why.find("truncated") != std::string::npos);

  auto refuse = [&](auto mutate, const char* word) {
    Superblock s = sb;
    mutate(s);
    std::vector<char> blk(kBlockSize);
    encode_superblock(s, blk.data());
    Superblock out;
    std::string w;
    CHECK(decode_superblock(blk.data(), sb.block_count, &out, &w) == -EUCLEAN);
    CHECK_MESSAGE(w.find(word) != std::string::npos, w);
  };
  refuse([](Superblock& s) { s.block_size = 8192; }, "block size");
  refuse([](Superblock& s) { s.version = 2; }, "version");
  refuse([](Superblock& s) { s.incompat |= 1ull << 40; }, "incompatible");
  refuse([](Superblock& s) { s.block_count = 1ull << 60; }, "block count");
  refuse([](Superblock& s) { s.inode_table_start = 2; }, "overlap");
  refuse([](Superblock& s) { s.data_start = s.block_count; }, "data area");
  refuse([](Superblock& s) { s.inode_count = 3; }, "inode count");
  refuse([](Superblock& s) { s.inode_table_blocks += 1; }, "region sizes");
  refuse([](Superblock& s) { s.free_blocks = s.block_count + 1; }, "free counts");
  refuse([](Superblock& s) { s.state = 7; }, "state");
  refuse([](Superblock& s) { s.root_ino = 5; }, "root");
}

TEST_CASE("plan_layout refuses tiny devices and keeps regions in order") {
  Superblock sb;
  std::string why;
  CHECK(plan_layout(100, 0, &sb, &why) == -ENOSPC);
  CHECK(why.find("at least 2048") != std::string::npos);
  CHECK(plan_layout(kMinBlocks, 0, &sb, &why) == 0);
  CHECK(validate_superblock(sb, kMinBlocks, &why) == 0);
  CHECK(plan_layout(1ull << 28, 0, &sb, &why) == 0);  // 1 TiB
  CHECK(validate_superblock(sb, 1ull << 28, &why) == 0);
  CHECK(sb.data_start < sb.block_count / 20);
}

TEST_CASE("plan_layout refuses the inode counts a mount would refuse") {
  Superblock sb;
  std::string why;
  CHECK(plan_layout(10324, 45056, &sb, &why) == -EINVAL);  // more than 4 per block
  CHECK(plan_layout(kMinBlocks, 3, &sb, &why) == -EINVAL);  // 8 after rounding: fewer than 16
  REQUIRE(plan_layout(10324, 41296, &sb, &why) == 0);
  CHECK(validate_superblock(sb, 10324, &why) == 0);
}

TEST_CASE("inode: round trip with every field, crc bound to the inode number") {
  DiskInode in;
  in.mode = S_IFREG | 04755;
  in.uid = 1000;
  in.gid = 100;
  in.nlink = 3;
  in.size = 123456789;
  in.blocks = 42;
  in.atime = {1, 2};
  in.mtime = {-3, 999999999};
  in.ctime = {5, 6};
  in.btime = {7, 8};
  in.rdev = 0x1234;
  in.flags = kInodeExtentTree;
  in.xattr_inline_len = 10;
  in.generation = 77;
  in.tree_root = 5000;
  in.xattr_block = 6000;
  in.orphan_next = 9;
  in.dir_entries = 11;
  in.parent = 1;
  for (size_t i = 0; i < kInlineXattrSize; ++i) in.inline_xattr[i] = static_cast<uint8_t>(i);
  char slot[kInodeSize];
  encode_inode(17, in, slot);
  DiskInode out;
  std::string why;
  REQUIRE(decode_inode(17, slot, &out, &why) == 0);
  CHECK(out == in);
  CHECK(decode_inode(18, slot, &out, &why) == -EUCLEAN);  // moved to another slot
  for (size_t off : {size_t(0), size_t(9), size_t(100), size_t(511)}) {
    char bad[kInodeSize];
    std::memcpy(bad, slot, kInodeSize);
    bad[off] ^= 0x40;
    CHECK(decode_inode(17, bad, &out, &why) == -EUCLEAN);
  }
  char zero[kInodeSize] = {};
  CHECK(decode_inode(1, zero, &out, &why) == -EUCLEAN);
  DiskInode weird = in;
  weird.mode = 0170000;
  encode_inode(17, weird, slot);
  CHECK(decode_inode(17, slot, &out, &why) == -EUCLEAN);
  weird = in;
  weird.flags = 0;
  weird.n_inline_extents = 7;
  encode_inode(17, weird, slot);
  CHECK(decode_inode(17, slot, &out, &why) == -EUCLEAN);
}

TEST_CASE("extent: round trip and range checks") {
  Extent e{100, 5000, 32, kExtentUnwritten};
  char b[kExtentSize];
  encode_extent(e, b);
  CHECK(decode_extent(b) == e);
  CHECK(e.last() == 131);
  CHECK(check_extent(e, 1000, 100000) == 0);
  CHECK(check_extent(Extent{0, 999, 1, 0}, 1000, 100000) == -EUCLEAN);
  CHECK(check_extent(Extent{0, 99999, 2, 0}, 1000, 100000) == -EUCLEAN);
  CHECK(check_extent(Extent{0, 5000, 0, 0}, 1000, 100000) == -EUCLEAN);
  CHECK(check_extent(Extent{0, 5000, 1, 4}, 1000, 100000) == -EUCLEAN);
}

TEST_CASE("directory buckets and name hashes") {
  CHECK(name_hash("a") >= kFirstNameHash);
  CHECK(name_hash("a") < (1ull << 63));
  CHECK(name_hash("a") == name_hash("a"));
  CHECK(name_hash("a") != name_hash("b"));
  std::vector<Dirent> v{{5, 8, "hello"}, {6, 4, std::string(255, 'x')}};
  std::string enc = encode_bucket(v);
  std::vector<Dirent> out;
  REQUIRE(decode_bucket(enc, &out) == 0);
  CHECK(out == v);
  CHECK(decode_bucket(enc.substr(0, enc.size() - 1), &out) == -EUCLEAN);
  CHECK(decode_bucket("", &out) == -EUCLEAN);
  std::string slash = encode_bucket({{5, 8, "a/b"}});
  CHECK(decode_bucket(slash, &out) == -EUCLEAN);
  std::string zero_ino = encode_bucket({{0, 8, "ab"}});
  CHECK(decode_bucket(zero_ino, &out) == -EUCLEAN);
}

TEST_CASE("xattr blobs and chain blocks") {
  XattrMap m{{"user.a", "1"}, {"trusted.bb", std::string(70000, 'z')}, {"security.c", ""}};
  std::string blob = encode_xattrs(m);
  XattrMap out;
  REQUIRE(decode_xattrs(blob, &out) == 0);
  CHECK(out == m);
  CHECK(decode_xattrs(blob.substr(0, 10), &out) == -EUCLEAN);
  std::string bad = blob;
  bad[0] = 9;  // unknown namespace
  CHECK(decode_xattrs(bad, &out) == -EUCLEAN);
  std::string_view suffix;
  CHECK(xattr_split("user.x", &suffix) == kXattrUser);
  CHECK(suffix == "x");
  CHECK(xattr_split("system.x", &suffix) == 0);

  std::vector<char> b(kBlockSize);
  seal_xattr_block({7, 100, 4000, 2}, b.data());
  XattrBlockHeader h;
  REQUIRE(check_xattr_block(b.data(), 7, 2, &h) == 0);
  CHECK(h.next == 100);
  CHECK(h.len == 4000);
  CHECK(check_xattr_block(b.data(), 8, 2, &h) == -EUCLEAN);
  CHECK(check_xattr_block(b.data(), 7, 3, &h) == -EUCLEAN);
  b[2000] ^= 1;
  CHECK(check_xattr_block(b.data(), 7, 2, &h) == -EUCLEAN);
}

TEST_CASE("bitmap blocks: seal, check, kind and index") {
  std::vector<char> b(kBlockSize);
  bitmap_bits(b.data())[3] = 0x5a;
  seal_bitmap_block(b.data(), BitmapKind::kBlocks, 4);
  CHECK(check_bitmap_block(b.data(), BitmapKind::kBlocks, 4) == 0);
  CHECK(check_bitmap_block(b.data(), BitmapKind::kInodes, 4) == -EUCLEAN);
  CHECK(check_bitmap_block(b.data(), BitmapKind::kBlocks, 5) == -EUCLEAN);
  bitmap_bits(b.data())[3] = 0x5b;
  CHECK(check_bitmap_block(b.data(), BitmapKind::kBlocks, 4) == -EUCLEAN);
}
