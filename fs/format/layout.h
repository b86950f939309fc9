#pragma once
// Constants of on-disk format v1: block size, magics, feature bits, structure sizes.
// FORMAT.md beside this file is the prose description; keep both in step.
#include <cstddef>
#include <cstdint>

#include "base/block_size.h"

namespace chainfs::format {

inline constexpr uint32_t kFormatVersion = 1;

// Block magics (first 4 bytes of every metadata block, little-endian).
inline constexpr uint32_t kSuperMagic = 0x53464843;   // "CHFS"
inline constexpr uint32_t kBitmapMagic = 0x504D4243;  // "CBMP"
inline constexpr uint32_t kXattrMagic = 0x52544843;   // "CHTR"
inline constexpr uint32_t kInodeMagic = 0x4E49;       // "IN", 16 bits, per inode record

// Feature flags. A v1 reader refuses unknown incompat bits, mounts unknown ro_compat bits
// read-only only, and ignores unknown compat bits.
inline constexpr uint64_t kCompatJournalReserved = 1u << 0;  // journal region reserved
inline constexpr uint64_t kCompatJournal = 1u << 1;          // the region holds a journal (journal.h)
inline constexpr uint64_t kCompatKnown = kCompatJournalReserved | kCompatJournal;
inline constexpr uint64_t kIncompatExtentTree = 1u << 0;  // inodes may root an extent B+tree
inline constexpr uint64_t kIncompatDirTree = 1u << 1;     // directories are hashed B+trees
// The journal may hold committed transactions not yet at home: replay before trusting
// any other block. Set while mounted read-write, so a reader that knows no journal
// refuses the filesystem instead of reading stale metadata.
inline constexpr uint64_t kIncompatRecover = 1u << 2;
inline constexpr uint64_t kIncompatKnown = kIncompatExtentTree | kIncompatDirTree | kIncompatRecover;
inline constexpr uint64_t kRoCompatKnown = 0;

// Superblock state.
inline constexpr uint32_t kStateClean = 1;
inline constexpr uint32_t kStateMounted = 2;

// Bitmap blocks: 16-byte header, then bits. One bitmap block covers this many items.
inline constexpr uint32_t kBitmapHeader = 16;
inline constexpr uint32_t kBitsPerBitmapBlock = (kBlockSize - kBitmapHeader) * 8;  // 32640

// Inodes: fixed 512-byte records, 8 per block; inode n (n >= 1) is record n-1.
inline constexpr uint32_t kInodeSize = 512;
inline constexpr uint32_t kInodesPerBlock = kBlockSize / kInodeSize;
inline constexpr uint64_t kRootIno = 1;

// B+tree tags (btree.h): kind in the top byte, inode number below.
inline constexpr uint64_t kTagDir = 1ull << 56;
inline constexpr uint64_t kTagExtent = 2ull << 56;
inline constexpr uint64_t tree_tag(uint64_t kind, uint64_t ino) { return kind | (ino & ((1ull << 56) - 1)); }

// Longest extent, in blocks: a 4 GiB sequential write is one extent.
inline constexpr uint32_t kMaxExtentBlocks = 1u << 20;  // 4 GiB

// Largest file: 2^40 blocks of 4 KiB would overflow nothing, but 16 TiB is plenty and
// keeps logical block numbers well inside 32+ bits.
inline constexpr uint64_t kMaxFileSize = 1ull << 44;  // 16 TiB

// Smallest device mkfs accepts.
inline constexpr uint64_t kMinBlocks = 2048;  // 8 MiB

}  // namespace chainfs::format
