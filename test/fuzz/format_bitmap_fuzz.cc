// The bitmap block check on arbitrary bytes.
// Input: u8 flags (kFixChecksums: re-seal the crc; bit 1: inode bitmap), u32 LE index,
// then the block.
#include <cerrno>

#include "fs/format/bitmap.h"
#include "fs/format/endian.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return -1;
  const uint32_t index = format::load_le32(data + 1);
  const auto kind = (data[0] & 2) ? format::BitmapKind::kInodes : format::BitmapKind::kBlocks;
  auto b = fuzz::block_from(data, size, 5);
  if (data[0] & fuzz::kFixChecksums) fuzz::seal_block_crc(b.data());
  int r = format::check_bitmap_block(b.data(), kind, index);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN);
  if (r == 0) {
    // Sealing a block that checks changes nothing.
    auto again = b;
    format::seal_bitmap_block(again.data(), kind, index);
    FUZZ_CHECK(again == b);
  }
  return 0;
}
