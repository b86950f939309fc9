#include "fs/format/crc32c.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "fs/format/endian.h"

using namespace chainfs::format;

namespace {
// Bytewise reference CRC-32C (reflected polynomial 0x82F63B78) to cross-check ISA-L.
uint32_t reference(const void* data, size_t len) {
  uint32_t c = 0xFFFFFFFFu;
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}
}  // namespace

TEST_CASE("crc32c known answer and reference agreement") {
  CHECK(crc32c::value("123456789", 9) == 0xE3069283u);
  std::string s;
  for (int i = 0; i < 5000; ++i) s.push_back(static_cast<char>(i * 131 + 7));
  for (size_t len : {0ul, 1ul, 7ul, 64ul, 4096ul, 5000ul}) CHECK(crc32c::value(s.data(), len) == reference(s.data(), len));
  // Chaining equals one pass.
  CHECK(crc32c::extend(crc32c::value(s.data(), 1000), s.data() + 1000, 4000) == crc32c::value(s.data(), 5000));
}

TEST_CASE("crc32c::block ignores its own crc field") {
  char blk[4096];
  for (int i = 0; i < 4096; ++i) blk[i] = static_cast<char>(i);
  uint32_t c = crc32c::block(blk, sizeof blk, 8);
  store_le32(blk + 8, c);
  CHECK(crc32c::block(blk, sizeof blk, 8) == c);
  blk[100] ^= 1;
  CHECK(crc32c::block(blk, sizeof blk, 8) != c);
}

TEST_CASE("little-endian helpers") {
  unsigned char b[8];
  store_le64(b, 0x0102030405060708ull);
  CHECK(b[0] == 0x08);
  CHECK(b[7] == 0x01);
  CHECK(load_le64(b) == 0x0102030405060708ull);
  store_le32(b, 0xA1B2C3D4u);
  CHECK(load_le32(b) == 0xA1B2C3D4u);
  store_le16(b, 0xBEEF);
  CHECK(load_le16(b) == 0xBEEF);
}
