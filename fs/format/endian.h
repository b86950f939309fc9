#pragma once
// Little-endian load/store of fixed-width integers. On-disk structures are encoded
// with these, never by casting a struct onto a buffer. On little-endian hosts they are
// single unaligned moves (the byte loops are the portable fallback).
#include <bit>
#include <cstdint>
#include <cstring>

namespace chainfs::format {

inline constexpr bool kHostIsLittle = std::endian::native == std::endian::little;

inline void store_le16(void* p, uint16_t v) {
  if constexpr (kHostIsLittle) {
    std::memcpy(p, &v, sizeof v);
    return;
  }
  auto* b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v);
  b[1] = static_cast<uint8_t>(v >> 8);
}
inline void store_le32(void* p, uint32_t v) {
  if constexpr (kHostIsLittle) {
    std::memcpy(p, &v, sizeof v);
    return;
  }
  auto* b = static_cast<uint8_t*>(p);
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_le64(void* p, uint64_t v) {
  if constexpr (kHostIsLittle) {
    std::memcpy(p, &v, sizeof v);
    return;
  }
  auto* b = static_cast<uint8_t*>(p);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint16_t load_le16(const void* p) {
  if constexpr (kHostIsLittle) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  auto* b = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
inline uint32_t load_le32(const void* p) {
  if constexpr (kHostIsLittle) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  auto* b = static_cast<const uint8_t*>(p);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}
inline uint64_t load_le64(const void* p) {
  if constexpr (kHostIsLittle) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  auto* b = static_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

}  // namespace chainfs::format
