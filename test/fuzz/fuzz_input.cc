#include "test/fuzz/fuzz_input.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "fs/btree/node.h"
#include "fs/format/crc32c.h"
#include "fs/format/endian.h"
#include "fs/format/journal.h"
#include "fs/format/layout.h"
#include "fs/format/superblock.h"

namespace chainfs::fuzz {

namespace {

constexpr uint64_t kMinMiB = 8, kMaxMiB = 64;

bool has_block_magic(const uint8_t* b) {
  switch (format::load_le32(b)) {
    case format::kSuperMagic:
    case format::kBitmapMagic:
    case format::kXattrMagic:
    case btree::node::kMagic:
    case format::kJournalSuperMagic:
    case format::kJournalDescMagic:
    case format::kJournalCommitMagic: return true;
    default: return false;
  }
}

}  // namespace

void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::abort();
}

std::vector<uint8_t> block_from(const uint8_t* data, size_t size, size_t off) {
  std::vector<uint8_t> b(kBlockSize, 0);
  if (off < size) std::memcpy(b.data(), data + off, std::min(kBlockSize, size - off));
  return b;
}

void seal_block_crc(uint8_t* block) { format::store_le32(block + 4, format::crc32c::block(block, kBlockSize, 4)); }

void seal_inode_crc(uint8_t* slot, uint64_t ino) {
  uint8_t n[8];
  format::store_le64(n, ino);
  uint32_t crc = format::crc32c::extend(format::crc32c::block(slot, format::kInodeSize, 4), n, 8);
  format::store_le32(slot + 4, crc);
}

void fix_checksums(io::MemDevice& dev) {
  auto* img = reinterpret_cast<uint8_t*>(dev.bytes().data());
  const uint64_t blocks = dev.size_bytes() / kBlockSize;
  for (uint64_t b = 0; b < blocks; ++b) {
    if (has_block_magic(img + b * kBlockSize)) seal_block_crc(img + b * kBlockSize);
  }
  format::Superblock sb;
  std::string why;
  if (format::decode_superblock(img, blocks, &sb, &why) < 0) return;
  const uint64_t end = std::min(blocks, sb.inode_table_start + sb.inode_table_blocks);
  for (uint64_t b = sb.inode_table_start; b < end; ++b) {
    for (uint32_t i = 0; i < format::kInodesPerBlock; ++i) {
      uint8_t* slot = img + b * kBlockSize + i * format::kInodeSize;
      if (format::load_le16(slot) == format::kInodeMagic)
        seal_inode_crc(slot, (b - sb.inode_table_start) * format::kInodesPerBlock + i + 1);
    }
  }
}

SparseImage decode_sparse(const uint8_t* data, size_t size) {
  SparseImage out;
  uint64_t mib = size >= 2 ? format::load_le16(data) : kMinMiB;
  mib = std::clamp(mib, kMinMiB, kMaxMiB);
  out.flags = size >= 3 ? data[2] : 0;
  static std::map<uint64_t, std::unique_ptr<io::MemDevice>> devices;
  auto& dev = devices[mib];
  if (!dev) dev = std::make_unique<io::MemDevice>(mib << 20);
  std::memset(dev->bytes().data(), 0, dev->bytes().size());
  out.dev = dev.get();
  auto* img = reinterpret_cast<uint8_t*>(out.dev->bytes().data());
  const uint64_t blocks = (mib << 20) / kBlockSize;
  for (size_t pos = 4; pos + 4 <= size;) {
    uint64_t blk = format::load_le32(data + pos) % blocks;
    pos += 4;
    size_t n = std::min(kBlockSize, size - pos);
    std::memcpy(img + blk * kBlockSize, data + pos, n);
    std::memset(img + blk * kBlockSize + n, 0, kBlockSize - n);
    pos += n;
  }
  if (out.flags & kFixChecksums) fix_checksums(*out.dev);
  return out;
}

std::string encode_sparse(io::MemDevice& dev, uint8_t flags) {
  std::string out(4, '\0');
  format::store_le16(reinterpret_cast<uint8_t*>(out.data()), static_cast<uint16_t>(dev.size_bytes() >> 20));
  out[2] = static_cast<char>(flags);
  const char* img = dev.bytes().data();
  static const std::vector<char> zero(kBlockSize, 0);
  for (uint64_t b = 0; b < dev.size_bytes() / kBlockSize; ++b) {
    if (std::memcmp(img + b * kBlockSize, zero.data(), kBlockSize) == 0) continue;
    uint8_t n[4];
    format::store_le32(n, static_cast<uint32_t>(b));
    out.append(reinterpret_cast<char*>(n), 4);
    out.append(img + b * kBlockSize, kBlockSize);
  }
  return out;
}

}  // namespace chainfs::fuzz
