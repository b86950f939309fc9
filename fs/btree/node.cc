#include "fs/btree/node.h"

#include <cerrno>
#include <cstring>

#include "fs/format/crc32c.h"
#include "base/result.h"

namespace chainfs::btree::node {

using format::load_le32;
using format::store_le16;
using format::store_le32;
using format::store_le64;

unsigned leaf_lower_bound(const uint8_t* b, uint64_t k) {
  unsigned lo = 0, hi = count(b);
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (leaf_key(b, mid) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

unsigned internal_find(const uint8_t* b, uint64_t k) {
  // Last i with key(i) <= k; 0 when k is below key(1).
  unsigned lo = 1, hi = count(b);
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (internal_key(b, mid) <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

Range child_range(const uint8_t* b, unsigned i, Range r) {
  Range c;
  c.lo = i == 0 ? r.lo : internal_key(b, i);
  c.hi = i + 1 < count(b) ? internal_key(b, i + 1) - 1 : r.hi;
  return c;
}

namespace {

// Word-at-a-time OR so the check vectorises; it runs on every node read.
bool all_zero(const uint8_t* p, size_t len) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < len; ++i) acc |= p[i];
  return acc == 0;
}

int bad(std::string* why, const char* what) {
  if (why) *why = what;
  return -kCorrupt;
}

}  // namespace

int verify(const uint8_t* b, uint64_t tag, int want_level, Range r, std::string* why) {
  if (load_le32(b + kOffMagic) != kMagic) return bad(why, "bad magic");
  if (load_le32(b + kOffCrc) != format::crc32c::block(b, kBlockSize, kOffCrc)) return bad(why, "bad checksum");
  if (ld64(b + kOffTag) != tag) return bad(why, "tag of another tree");
  const unsigned lvl = level(b);
  if (lvl > kMaxLevel) return bad(why, "level too large");
  if (want_level >= 0 && lvl != static_cast<unsigned>(want_level)) return bad(why, "level inconsistent with depth");
  if (b[kOffFlags] != 0) return bad(why, "unknown flags");
  for (size_t i = kOffReserved; i < kHeaderSize; ++i)
    if (b[i] != 0) return bad(why, "reserved header bytes not zero");
  const unsigned n = count(b);
  if (n == 0) return bad(why, "empty node");
  const unsigned value_start = ld16(b + kOffValueStart);

  if (lvl == 0) {
    if (n > kMaxLeafEntries) return bad(why, "leaf count too large");
    const size_t slots_end = kHeaderSize + n * kLeafSlotSize;
    if (value_start < slots_end || value_start > kBlockSize) return bad(why, "leaf value heap overlaps slots");
    size_t total = 0;
    uint64_t prev = 0;
    for (unsigned i = 0; i < n; ++i) {
      const uint8_t* s = b + kHeaderSize + i * kLeafSlotSize;
      const uint64_t k = ld64(s);
      const unsigned off = ld16(s + 8), len = ld16(s + 10);
      if (len > kMaxValue) return bad(why, "value longer than kMaxValue");
      if (off < value_start || off + len > kBlockSize) return bad(why, "value outside the heap");
      total += len;
      if (k < r.lo || k > r.hi) return bad(why, "leaf key outside the parent's range");
      if (i > 0 && k <= prev) return bad(why, "leaf keys not strictly increasing");
      prev = k;
    }
    // Values never overlap in a valid leaf, so they cannot add up to more than the heap.
    if (total > kBlockSize - value_start) return bad(why, "values larger than the heap");
    // Unused bytes are zero as written; checking them makes fsck catch stray writes.
    if (!all_zero(b + slots_end, value_start - slots_end)) return bad(why, "free space not zero");
    return 0;
  }

  if (n > kMaxInternalEntries) return bad(why, "internal count too large");
  if (value_start != 0) return bad(why, "internal node with a value heap");
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t k = internal_key(b, i);
    if (internal_child(b, i) == 0) return bad(why, "child block 0");
    if (i == 0 ? k < r.lo : k <= internal_key(b, i - 1)) return bad(why, "separators out of order or below range");
    if (k > r.hi) return bad(why, "separator above the parent's range");
  }
  const size_t used = kHeaderSize + n * kInternalEntrySize;
  if (!all_zero(b + used, kBlockSize - used)) return bad(why, "free space not zero");
  return 0;
}

namespace {

void finish(uint8_t* out, uint64_t tag, unsigned lvl, size_t n, unsigned value_start) {
  store_le32(out + kOffMagic, kMagic);
  store_le64(out + kOffTag, tag);
  out[kOffLevel] = static_cast<uint8_t>(lvl);
  store_le16(out + kOffCount, static_cast<uint16_t>(n));
  store_le16(out + kOffValueStart, static_cast<uint16_t>(value_start));
  store_le32(out + kOffCrc, format::crc32c::block(out, kBlockSize, kOffCrc));
}

}  // namespace

void encode_leaf(uint8_t* out, uint64_t tag, const LeafEntry* e, size_t n) {
  size_t pos = kBlockSize;
  std::memset(out, 0, kHeaderSize + n * kLeafSlotSize);
  for (size_t i = 0; i < n; ++i) {
    // Values are packed downward from the end of the block, in slot order.
    pos -= e[i].value.size();
    if (!e[i].value.empty()) std::memcpy(out + pos, e[i].value.data(), e[i].value.size());
    uint8_t* s = out + kHeaderSize + i * kLeafSlotSize;
    store_le64(s, e[i].key);
    store_le16(s + 8, static_cast<uint16_t>(pos));
    store_le16(s + 10, static_cast<uint16_t>(e[i].value.size()));
  }
  const size_t slots_end = kHeaderSize + n * kLeafSlotSize;
  std::memset(out + slots_end, 0, pos - slots_end);
  finish(out, tag, 0, n, static_cast<unsigned>(pos));
}

void encode_internal(uint8_t* out, uint64_t tag, unsigned lvl, const ChildEntry* e, size_t n) {
  std::memset(out, 0, kBlockSize);
  for (size_t i = 0; i < n; ++i) {
    store_le64(out + kHeaderSize + i * kInternalEntrySize, e[i].key);
    store_le64(out + kHeaderSize + i * kInternalEntrySize + 8, e[i].child);
  }
  finish(out, tag, lvl, n, 0);
}

}  // namespace chainfs::btree::node
