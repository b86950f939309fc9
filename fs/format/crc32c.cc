#include "fs/format/crc32c.h"

#include <isa-l.h>

namespace chainfs::format::crc32c {

uint32_t extend(uint32_t crc, const void* data, size_t len) {
  // ISA-L keeps the raw (non-inverted) register; the standard value is its complement.
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  return ~crc32_iscsi(p, static_cast<int>(len), ~crc);
}

uint32_t block(const void* data, size_t len, size_t crc_offset) {
  static constexpr unsigned char zero[4] = {0, 0, 0, 0};
  auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = extend(0, p, crc_offset);
  c = extend(c, zero, sizeof zero);
  return extend(c, p + crc_offset + 4, len - crc_offset - 4);
}

}  // namespace chainfs::format::crc32c
