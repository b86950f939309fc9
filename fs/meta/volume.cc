#include "fs/meta/volume.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chainfs::fs {

using format::kInodeSize;
using format::kInodesPerBlock;

void log_corrupt(uint64_t ino, uint64_t block, std::string_view what) {
  spdlog::error("chainfs: corrupt metadata: inode {} block {}: {}", ino, block, what);
}

int Volume::load_inode(uint64_t ino, format::DiskInode* out) {
  uint64_t blk = inode_table_start + (ino - 1) / kInodesPerBlock;
  size_t slot = (ino - 1) % kInodesPerBlock;
  char buf[kInodeSize];
  // A miss reads the following inode-table blocks too: inodes created together are
  // neighbours, and a cold directory walk stats them one after another.
  int r = cache.read_part(blk, slot * kInodeSize, kInodeSize, buf,
                         std::min(inode_table_end, block_count_));
  if (r < 0) return r;
  std::string why;
  r = format::decode_inode(ino, buf, out, &why);
  if (r < 0) log_corrupt(ino, blk, why);
  return r;
}

int Volume::store_inode(uint64_t ino, const format::DiskInode& in) {
  uint64_t blk = inode_table_start + (ino - 1) / kInodesPerBlock;
  size_t slot = (ino - 1) % kInodesPerBlock;
  char buf[kInodeSize];
  format::encode_inode(ino, in, buf);
  return cache.modify(blk, [&](char* b) { std::memcpy(b + slot * kInodeSize, buf, kInodeSize); });
}

int TreeStore::read_block(uint64_t blockno, void* buf) {
  if (blockno < v_.data_start() || blockno >= v_.block_count()) return -EUCLEAN;
  return v_.cache.read(blockno, buf);
}

int TreeStore::write_block(uint64_t blockno, const void* buf) {
  if (blockno < v_.data_start() || blockno >= v_.block_count()) return -EUCLEAN;
  v_.cache.write(blockno, buf);
  return 0;
}

int TreeStore::alloc_block(uint64_t hint, uint64_t* blockno) {
  uint64_t goal = hint ? hint : hint_ ? hint_ : v_.data_start();
  uint32_t got = 0;
  int r = v_.balloc.alloc(goal, 1, /*metadata=*/true, blockno, &got);
  if (r < 0) return r;
  if (owner_blocks_) ++*owner_blocks_;
  return 0;
}

void TreeStore::free_block(uint64_t blockno) {
  v_.cache.forget(blockno);
  v_.balloc.free(blockno, 1);
  if (owner_blocks_ && *owner_blocks_) --*owner_blocks_;
}

}  // namespace chainfs::fs
