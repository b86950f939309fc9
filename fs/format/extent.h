#pragma once
// Extent: a run of logical file blocks mapped to consecutive device blocks. Stored
// inline in the inode (up to kInlineExtents) or as values of the inode's extent B+tree,
// keyed by the extent's LAST logical block (so the extent containing block b, or the
// first one after it, is the first key >= b).
#include <cstddef>
#include <cstdint>

namespace chainfs::format {

inline constexpr uint32_t kExtentUnwritten = 1;  // allocated by fallocate, reads as zeros

struct Extent {
  uint64_t logical = 0;   // first logical block
  uint64_t physical = 0;  // first device block
  uint32_t len = 0;       // blocks, 1..kMaxExtentBlocks
  uint32_t flags = 0;     // kExtentUnwritten

  uint64_t end() const { return logical + len; }  // one past the last logical block
  uint64_t last() const { return logical + len - 1; }
  bool unwritten() const { return flags & kExtentUnwritten; }
  bool operator==(const Extent&) const = default;
};

inline constexpr size_t kExtentSize = 24;  // u64 logical, u64 physical, u32 len, u32 flags

void encode_extent(const Extent& e, void* out);
Extent decode_extent(const void* in);
// Checks one decoded extent against the device: 0 or -EUCLEAN.
int check_extent(const Extent& e, uint64_t data_start, uint64_t block_count);

}  // namespace chainfs::format
