// BlockCache: read misses with readahead, and what a miss may not override.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "fs/format/layout.h"
#include "fs/meta/block_cache.h"
#include "io/mem_device.h"

namespace chainfs::fs {
namespace {


// A MemDevice that counts read requests.
class CountingDevice final : public io::Device {
 public:
  explicit CountingDevice(uint64_t blocks) : mem_(blocks * kBlockSize) {}
  uint64_t size_bytes() const override { return mem_.size_bytes(); }
  const io::QueueLimits& limits() const override { return mem_.limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override {
    ++reads;
    return mem_.readv(offset, iov, iovcnt);
  }
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override { return mem_.writev(offset, iov, iovcnt); }
  int flush() override { return mem_.flush(); }
  int reads = 0;

 private:
  io::MemDevice mem_;
};

std::vector<char> block_of(char c) { return std::vector<char>(kBlockSize, c); }

void fill(io::Device& dev, uint64_t blk, char c) {
  auto b = block_of(c);
  REQUIRE(dev.write(blk * kBlockSize, b.data(), kBlockSize) == 0);
}

char first_byte(BlockCache& bc, uint64_t blk) {
  char c = 0;
  REQUIRE(bc.read_part(blk, 0, 1, &c) == 0);
  return c;
}

TEST_CASE("block cache: a miss reads ahead up to the bound, in one request") {
  CountingDevice dev(64);
  for (uint64_t b = 0; b < 64; ++b) fill(dev, b, static_cast<char>('a' + b % 26));
  BlockCache bc(dev);
  char c = 0;
  REQUIRE(bc.read_part(10, 5, 1, &c, 20) == 0);
  CHECK(c == 'a' + 10);
  CHECK(dev.reads == 1);
  for (uint64_t b = 10; b < 20; ++b) CHECK(first_byte(bc, b) == static_cast<char>('a' + b % 26));
  CHECK(dev.reads == 1);  // all of [10, 20) came with the first request
  CHECK(first_byte(bc, 20) == 'a' + 20);  // the bound is exclusive
  CHECK(dev.reads == 2);
  CHECK(bc.size() == 11);
}

TEST_CASE("block cache: readahead stops at a cached block and is capped") {
  CountingDevice dev(128);
  BlockCache bc(dev);
  auto w = block_of('W');
  bc.write(5, w.data());  // dirty, newer than the device
  char c = 0;
  REQUIRE(bc.read_part(2, 0, 1, &c, 100) == 0);
  CHECK(dev.reads == 1);
  CHECK(bc.size() == 4);  // 2, 3, 4 read; 5 was cached already
  CHECK(first_byte(bc, 5) == 'W');
  REQUIRE(bc.read_part(6, 0, 1, &c, 100) == 0);
  CHECK(bc.size() == 4 + BlockCache::kMaxReadahead);
}

TEST_CASE("block cache: a committed image wins over the device in readahead") {
  CountingDevice dev(16);
  for (uint64_t b = 0; b < 16; ++b) fill(dev, b, 'd');
  BlockCache bc(dev);
  auto img = std::make_shared<mem::AlignedBuffer>(kBlockSize);
  std::memset(img->data(), 'J', kBlockSize);
  bc.add_committed({BlockImage{3, img}});
  char c = 0;
  REQUIRE(bc.read_part(1, 0, 1, &c, 8) == 0);
  CHECK(c == 'd');
  CHECK(first_byte(bc, 3) == 'J');  // not the device's old home copy
  CHECK(first_byte(bc, 2) == 'd');
}

TEST_CASE("block cache: modify and read of a missing block load it") {
  CountingDevice dev(8);
  fill(dev, 4, 'x');
  BlockCache bc(dev);
  REQUIRE(bc.modify(4, [](char* b) { b[1] = 'y'; }) == 0);
  CHECK(bc.dirty_count() == 1);
  std::vector<char> out(kBlockSize);
  REQUIRE(bc.read(4, out.data()) == 0);
  CHECK(out[0] == 'x');
  CHECK(out[1] == 'y');
  CHECK(dev.reads == 1);
  CHECK(bc.read(100, out.data()) < 0);  // past the device: the error, nothing cached
  CHECK(bc.size() == 1);
}

TEST_CASE("block cache: a block's page goes back to the pool when the block leaves the cache") {
  CountingDevice dev(64);
  for (uint64_t b = 0; b < 64; ++b) fill(dev, b, static_cast<char>('a' + b % 26));
  BlockCache bc(dev, 16);  // at most 16 clean blocks: the loop below evicts
  for (uint64_t b = 0; b < 64; ++b) {
    CHECK(first_byte(bc, b) == static_cast<char>('a' + b % 26));
    CHECK(bc.pages_in_use() == bc.size());
  }
  CHECK(bc.size() <= 16);
  char c = 0;
  REQUIRE(bc.read_part(40, 0, 1, &c, 64) == 0);  // readahead over cached and evicted blocks
  CHECK(bc.pages_in_use() == bc.size());
  auto x = block_of('x');
  bc.write(63, x.data());  // a new dirty block
  bc.forget(40);
  CHECK(bc.pages_in_use() == bc.size());
  CHECK(bc.read_part(100, 0, 1, &c, 120) < 0);  // a failed read keeps no page
  CHECK(bc.pages_in_use() == bc.size());
  std::vector<char> out(kBlockSize);
  REQUIRE(bc.read(63, out.data()) == 0);
  CHECK(out == x);
  REQUIRE(bc.read(41, out.data()) == 0);
  CHECK(out == block_of(static_cast<char>('a' + 41 % 26)));
}

}  // namespace
}  // namespace chainfs::fs
