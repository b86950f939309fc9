#pragma once
// Bitmap blocks (block allocation bitmap and inode bitmap): a 16-byte checksummed header
// then kBitsPerBitmapBlock bits, bit i of byte j = item index*kBitsPerBitmapBlock + 8j+i.
#include <cstddef>
#include <cstdint>

#include "fs/format/layout.h"

namespace chainfs::format {

enum class BitmapKind : uint32_t { kBlocks = 1, kInodes = 2 };

namespace bm_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kKind = 8, kIndex = 12, kBits = 16;
}
static_assert(bm_off::kBits == kBitmapHeader);

// Fills the header (bits already in place at kBits) and computes the crc.
void seal_bitmap_block(void* block, BitmapKind kind, uint32_t index);
// Checks magic, crc, kind and index; 0 or -EUCLEAN.
int check_bitmap_block(const void* block, BitmapKind kind, uint32_t index);

inline uint8_t* bitmap_bits(void* block) { return static_cast<uint8_t*>(block) + bm_off::kBits; }
inline const uint8_t* bitmap_bits(const void* block) {
  return static_cast<const uint8_t*>(block) + bm_off::kBits;
}

}  // namespace chainfs::format
