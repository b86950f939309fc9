// The superblock decoder and the layout planner on arbitrary bytes.
// Input: u8 flags (kFixChecksums: re-seal the crc), u32 LE device blocks, then the block.
#include <cerrno>
#include <cstring>
#include <string>

#include "fs/format/endian.h"
#include "fs/format/superblock.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return -1;
  const uint64_t device_blocks = format::load_le32(data + 1);
  auto b = fuzz::block_from(data, size, 5);
  if (data[0] & fuzz::kFixChecksums) fuzz::seal_block_crc(b.data());
  format::Superblock sb;
  std::string why;
  int r = format::decode_superblock(b.data(), device_blocks, &sb, &why);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN || r == -EINVAL);
  FUZZ_CHECK(r == 0 || !why.empty());
  if (r == 0) {
    // What decodes encodes to a block that decodes to the same superblock.
    std::vector<uint8_t> once(chainfs::kBlockSize), twice(chainfs::kBlockSize);
    format::encode_superblock(sb, once.data());
    format::Superblock again;
    FUZZ_CHECK(format::decode_superblock(once.data(), device_blocks, &again, &why) == 0);
    format::encode_superblock(again, twice.data());
    FUZZ_CHECK(once == twice);
  }
  // The planner, for the device size and an inode count from the block's first bytes.
  format::Superblock planned;
  const uint64_t inodes = format::load_le32(b.data()) & 0xffffff;
  if (format::plan_layout(device_blocks, inodes, &planned, &why) == 0)
    FUZZ_CHECK(format::validate_superblock(planned, device_blocks, &why) == 0);
  return 0;
}
