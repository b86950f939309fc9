#pragma once
// CRC-32C (Castagnoli), the checksum of every metadata block. Backed by ISA-L's
// runtime-dispatched crc32_iscsi; value("123456789") == 0xE3069283.
#include <cstddef>
#include <cstdint>

namespace chainfs::format::crc32c {

// Extends a running CRC (start with 0) over more bytes; returns the standard CRC-32C.
uint32_t extend(uint32_t crc, const void* data, size_t len);
inline uint32_t value(const void* data, size_t len) { return extend(0, data, len); }

// Checksum of a block whose 4-byte crc field sits at crc_offset: computed as if that
// field were zero, so a block can be verified in place.
uint32_t block(const void* data, size_t len, size_t crc_offset);

}  // namespace chainfs::format::crc32c
