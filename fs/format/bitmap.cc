#include "fs/format/bitmap.h"

#include <cerrno>

#include "fs/format/crc32c.h"
#include "fs/format/endian.h"

namespace chainfs::format {

void seal_bitmap_block(void* block, BitmapKind kind, uint32_t index) {
  auto* b = static_cast<char*>(block);
  store_le32(b + bm_off::kMagic, kBitmapMagic);
  store_le32(b + bm_off::kKind, static_cast<uint32_t>(kind));
  store_le32(b + bm_off::kIndex, index);
  store_le32(b + bm_off::kCrc, crc32c::block(block, kBlockSize, bm_off::kCrc));
}

int check_bitmap_block(const void* block, BitmapKind kind, uint32_t index) {
  auto* b = static_cast<const char*>(block);
  if (load_le32(b + bm_off::kMagic) != kBitmapMagic) return -EUCLEAN;
  if (load_le32(b + bm_off::kCrc) != crc32c::block(block, kBlockSize, bm_off::kCrc)) return -EUCLEAN;
  if (load_le32(b + bm_off::kKind) != static_cast<uint32_t>(kind)) return -EUCLEAN;
  if (load_le32(b + bm_off::kIndex) != index) return -EUCLEAN;
  return 0;
}

}  // namespace chainfs::format
