#pragma once
// One B+tree node = one BlockStore block: layout constants, field access, verification
// and encoding. The byte layout is specified in fs/format/FORMAT.md ("B+tree nodes"); this header
// is its only implementation. Accessors assume the block passed verify() first.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "fs/btree/block_store.h"
#include "fs/btree/btree.h"
#include "fs/format/endian.h"

namespace chainfs::btree::node {

inline constexpr uint32_t kMagic = 0x4e544243;  // bytes "CBTN" read little-endian

// Header fields (byte offsets).
inline constexpr size_t kOffMagic = 0;       // u32
inline constexpr size_t kOffCrc = 4;         // u32 crc32c of the block, this field as zero
inline constexpr size_t kOffTag = 8;         // u64 tree tag
inline constexpr size_t kOffLevel = 16;      // u8  0 = leaf
inline constexpr size_t kOffFlags = 17;      // u8  must be 0
inline constexpr size_t kOffCount = 18;      // u16 entries
inline constexpr size_t kOffValueStart = 20; // u16 leaf: lowest byte of the value heap; internal: 0
inline constexpr size_t kOffReserved = 22;   // 10 bytes, must be 0
inline constexpr size_t kHeaderSize = 32;

inline constexpr size_t kLeafSlotSize = 12;      // u64 key, u16 value offset, u16 value length
inline constexpr size_t kInternalEntrySize = 16; // u64 separator key, u64 child block
inline constexpr size_t kSpace = kBlockSize - kHeaderSize;
inline constexpr size_t kMaxLeafEntries = kSpace / kLeafSlotSize;
inline constexpr size_t kMaxInternalEntries = kSpace / kInternalEntrySize;
// 16 levels of >= 2-way fan-out is far beyond any real tree; the bound keeps a corrupt
// level byte from driving a long descent.
inline constexpr unsigned kMaxLevel = 15;

static_assert(kSpace == 4064);
static_assert(kMaxLeafEntries == 338 && kMaxInternalEntries == 254);
static_assert(3 * (kLeafSlotSize + kMaxValue) <= kSpace, "kMaxValue promises 3 values per leaf");
static_assert(kBlockSize <= 65536, "16-bit offsets");

// Inclusive key range a node's keys must fall in, given by its parent.
struct Range {
  uint64_t lo = 0;
  uint64_t hi = std::numeric_limits<uint64_t>::max();
};

// Little-endian loads for the hot paths: format::load_le* compile to byte loops (GCC 12
// does not fold them), which made verification the top of the profile.
inline uint16_t ld16(const uint8_t* p) {
  if constexpr (std::endian::native != std::endian::little) return format::load_le16(p);
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t ld64(const uint8_t* p) {
  if constexpr (std::endian::native != std::endian::little) return format::load_le64(p);
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline unsigned level(const uint8_t* b) { return b[kOffLevel]; }
inline unsigned count(const uint8_t* b) { return ld16(b + kOffCount); }

inline uint64_t leaf_key(const uint8_t* b, unsigned i) {
  return ld64(b + kHeaderSize + i * kLeafSlotSize);
}
inline std::string_view leaf_value(const uint8_t* b, unsigned i) {
  const uint8_t* s = b + kHeaderSize + i * kLeafSlotSize;
  return {reinterpret_cast<const char*>(b) + ld16(s + 8), ld16(s + 10)};
}
inline uint64_t internal_key(const uint8_t* b, unsigned i) {
  return ld64(b + kHeaderSize + i * kInternalEntrySize);
}
inline uint64_t internal_child(const uint8_t* b, unsigned i) {
  return ld64(b + kHeaderSize + i * kInternalEntrySize + 8);
}

// First leaf slot with key >= k (count() when none).
unsigned leaf_lower_bound(const uint8_t* b, uint64_t k);
// The child whose range holds k: the last separator <= k, or 0 (child 0 also covers
// keys below its separator, down to the node's own lower bound).
unsigned internal_find(const uint8_t* b, uint64_t k);
// The inclusive range of child i of an internal node whose own range is r.
Range child_range(const uint8_t* b, unsigned i, Range r);

// Checks everything a reader relies on: checksum, magic, tag, level (want_level < 0:
// any level up to kMaxLevel), reserved bytes, counts and offsets inside the block, keys
// strictly increasing and inside r, non-zero children. 0 or -EUCLEAN with *why (if
// non-null) saying what is wrong.
int verify(const uint8_t* b, uint64_t tag, int want_level, Range r, std::string* why);

// Bytes a leaf with these entries needs below the header.
inline size_t leaf_entry_bytes(size_t value_len) { return kLeafSlotSize + value_len; }

struct LeafEntry {
  uint64_t key;
  std::string_view value;
};
struct ChildEntry {
  uint64_t key;
  uint64_t child;
};

// Encode a complete node (checksum included) into out, which must not overlap any
// value the entries point to. The caller guarantees the entries fit and are sorted.
void encode_leaf(uint8_t* out, uint64_t tag, const LeafEntry* e, size_t n);
void encode_internal(uint8_t* out, uint64_t tag, unsigned level, const ChildEntry* e, size_t n);

}  // namespace chainfs::btree::node
