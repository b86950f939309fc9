// The inode record and extent decoders on arbitrary bytes.
// Input: u8 flags (kFixChecksums: re-seal the record's crc), u64 LE inode number, the
// 512-byte record, then u64 LE data start and u64 LE block count for check_extent.
#include <cerrno>
#include <string>
#include <vector>

#include "fs/format/endian.h"
#include "fs/format/extent.h"
#include "fs/format/inode.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return -1;
  const uint64_t ino = format::load_le64(data + 1);
  auto b = fuzz::block_from(data, size, 9);
  uint8_t* slot = b.data();
  if (data[0] & fuzz::kFixChecksums) fuzz::seal_inode_crc(slot, ino);
  format::DiskInode in;
  std::string why;
  int r = format::decode_inode(ino, slot, &in, &why);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN);
  FUZZ_CHECK(r == 0 || !why.empty());
  if (r == 0) {
    std::vector<uint8_t> again(format::kInodeSize);
    format::encode_inode(ino, in, again.data());
    format::DiskInode in2;
    FUZZ_CHECK(format::decode_inode(ino, again.data(), &in2, &why) == 0);
    FUZZ_CHECK(in2 == in);
  }
  // Every 24-byte piece of the inline area as an extent, checked against a device.
  const uint64_t data_start = format::load_le64(slot + format::kInodeSize);
  const uint64_t block_count = format::load_le64(slot + format::kInodeSize + 8);
  for (size_t off = 0; off + format::kExtentSize <= format::kInlineDataSize; off += format::kExtentSize) {
    format::Extent e = format::decode_extent(slot + format::ino_off::kInlineData + off);
    int c = format::check_extent(e, data_start, block_count);
    FUZZ_CHECK(c == 0 || c == -EUCLEAN);
    if (c == 0) {
      FUZZ_CHECK(e.len > 0 && e.physical >= data_start && e.physical + e.len <= block_count);
      uint8_t out[format::kExtentSize];
      format::encode_extent(e, out);
      FUZZ_CHECK(format::decode_extent(out) == e);
    }
  }
  return 0;
}
