// Block and inode allocators: contiguity near a goal, reserve, ENOSPC, free/reuse,
// coalescing, deferred metadata frees, write-back and reload.
#include <doctest/doctest.h>

#include <string>

#include "fs/format/superblock.h"
#include "fs/meta/allocator.h"
#include "fs/meta/block_cache.h"
#include "fs/meta/mkfs.h"
#include "io/mem_device.h"

using namespace chainfs;

namespace {
struct Setup {
  io::MemDevice dev{32ull << 20};
  format::Superblock sb;
  Setup() {
    std::string msg;
    REQUIRE(fs::make_filesystem(dev, {}, &msg) == 0);
    REQUIRE(format::decode_superblock(dev.bytes().data(), dev.size_bytes() / 4096, &sb, &msg) == 0);
  }
  int load(fs::BlockCache& c, fs::BlockAllocator& a) {
    std::string why;
    return a.load(c, sb.block_bitmap_start, sb.block_bitmap_blocks, sb.block_count, sb.reserved_blocks, &why);
  }
};
}  // namespace

TEST_CASE("block allocator: contiguous runs near the goal, free and reuse, coalescing") {
  Setup s;
  fs::BlockCache cache(s.dev);
  fs::BlockAllocator a;
  REQUIRE(s.load(cache, a) == 0);
  uint64_t free0 = a.free_blocks();
  CHECK(free0 == s.sb.free_blocks);
  uint64_t x = 0, y = 0;
  uint32_t gx = 0, gy = 0;
  REQUIRE(a.alloc(s.sb.data_start, 100, false, &x, &gx) == 0);
  CHECK(x == s.sb.data_start);
  CHECK(gx == 100);
  // The next allocation with the block after as goal continues the run.
  REQUIRE(a.alloc(x + 100, 50, false, &y, &gy) == 0);
  CHECK(y == x + 100);
  CHECK(gy == 50);
  // A goal inside a used run moves to the next free run that holds the request.
  uint64_t z = 0;
  uint32_t gz = 0;
  REQUIRE(a.alloc(x + 10, 20, false, &z, &gz) == 0);
  CHECK(z == x + 150);
  CHECK(a.free_blocks() == free0 - 170);
  a.free(x + 20, 10);
  a.free(x + 30, 10);  // coalesces with the previous hole
  a.release(a.take_freed());  // the transaction that freed them committed
  uint64_t w = 0;
  uint32_t gw = 0;
  REQUIRE(a.alloc(x + 20, 30, false, &w, &gw) == 0);
  CHECK(w == x + 20);
  CHECK(gw == 20);  // the hole holds only 20 at the goal
  CHECK(a.in_use(x + 25));
  a.free(x, 170);
  CHECK(a.free_blocks() == free0);
  a.free(x, 170);  // a second free of the same blocks changes nothing
  CHECK(a.free_blocks() == free0);
}

TEST_CASE("block allocator: data cannot use the reserve, metadata can; ENOSPC then reuse") {
  Setup s;
  fs::BlockCache cache(s.dev);
  fs::BlockAllocator a;
  REQUIRE(s.load(cache, a) == 0);
  uint64_t got_total = 0, start = 0;
  uint32_t got = 0;
  while (a.alloc(s.sb.data_start, 1000, false, &start, &got) == 0) got_total += got;
  CHECK(got_total == s.sb.free_blocks - s.sb.reserved_blocks);
  CHECK(a.available_blocks() == 0);
  CHECK(a.alloc(s.sb.data_start, 1, false, &start, &got) == -ENOSPC);
  REQUIRE(a.alloc(s.sb.data_start, 1, true, &start, &got) == 0);  // metadata may dip in
  // Freed blocks are free in the bitmap at once, but allocatable only after release().
  a.free(start, 1);
  CHECK_FALSE(a.in_use(start));
  CHECK(a.limbo_blocks() == 1);
  uint64_t other = 0;
  REQUIRE(a.alloc(start, 1, true, &other, &got) == 0);
  CHECK(other != start);
  a.free(other, 1);
  auto freed = a.take_freed();
  REQUIRE(freed.size() == 2);
  CHECK(freed[0].start == start);
  CHECK(freed[0].len == 1);
  CHECK_FALSE(a.has_freed());
  a.release(freed);
  CHECK(a.limbo_blocks() == 0);
  uint64_t again = 0;
  REQUIRE(a.alloc(start, 1, true, &again, &got) == 0);
  CHECK(again == start);
  a.free(again, 1);
  a.free(s.sb.data_start, 64);
  CHECK(a.available_blocks() == 0);
  CHECK(a.free_unreserved() == 64);
  // A commit that failed hands its frees to the next one.
  freed = a.take_freed();
  a.give_back_freed(freed);
  CHECK(a.has_freed());
  a.release(a.take_freed());
  REQUIRE(a.alloc(0, 64, false, &start, &got) == 0);
  CHECK(got == 64);
}

TEST_CASE("allocators: write-back then reload gives the same state") {
  Setup s;
  fs::BlockCache cache(s.dev);
  fs::BlockAllocator a;
  fs::InodeAllocator ia;
  std::string why;
  REQUIRE(s.load(cache, a) == 0);
  REQUIRE(ia.load(cache, s.sb.inode_bitmap_start, s.sb.inode_bitmap_blocks, s.sb.inode_count, &why) == 0);
  CHECK(ia.in_use(1));
  uint64_t ino = 0;
  REQUIRE(ia.alloc(&ino) == 0);
  CHECK(ino == 2);
  uint64_t b = 0;
  uint32_t g = 0;
  REQUIRE(a.alloc(s.sb.data_start + 5000, 7, false, &b, &g) == 0);
  a.write_back(cache);
  ia.write_back(cache);
  REQUIRE(cache.flush_dirty() == 0);
  fs::BlockCache cache2(s.dev);
  fs::BlockAllocator a2;
  fs::InodeAllocator ia2;
  REQUIRE(s.load(cache2, a2) == 0);
  REQUIRE(ia2.load(cache2, s.sb.inode_bitmap_start, s.sb.inode_bitmap_blocks, s.sb.inode_count, &why) == 0);
  CHECK(a2.free_blocks() == a.free_blocks());
  CHECK(a2.in_use(b + 6));
  CHECK_FALSE(a2.in_use(b + 7));
  CHECK(ia2.in_use(2));
  CHECK(ia2.free_inodes() == s.sb.inode_count - 2);
  // Exhaust inodes: ENOSPC, then free one and get it back.
  uint64_t last = 0;
  while (ia2.alloc(&ino) == 0) last = ino;
  CHECK(last == s.sb.inode_count);
  CHECK(ia2.alloc(&ino) == -ENOSPC);
  ia2.free(77);
  REQUIRE(ia2.alloc(&ino) == 0);
  CHECK(ino == 77);
}
