#pragma once
// Journal blocks: the metadata write-ahead log in the journal region (FORMAT.md
// "Journal"). Pure encode/decode/verify; no I/O.
//
// The region holds, at relative block 0, the journal superblock; from relative block 1 on,
// transactions one after the other: one or more descriptor blocks, each followed by the
// images of the home blocks it names, then one commit block.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fs/format/layout.h"

namespace chainfs::format {

inline constexpr uint32_t kJournalSuperMagic = 0x534A4843;  // "CHJS"
inline constexpr uint32_t kJournalDescMagic = 0x444A4843;   // "CHJD"
inline constexpr uint32_t kJournalCommitMagic = 0x434A4843; // "CHJC"
inline constexpr uint32_t kJournalVersion = 1;

// Smallest journal region (mkfs never makes a smaller one).
inline constexpr uint64_t kJournalMinBlocks = 64;

// Journal superblock (relative block 0).
struct JournalSuper {
  uint32_t version = kJournalVersion;
  std::array<uint8_t, 16> uuid{};  // the filesystem's uuid
  uint64_t blocks = 0;             // region size, the superblock included
  uint64_t tail = 1;               // relative block of the first live transaction
  uint64_t tail_seq = 1;           // its sequence number; replay expects tail_seq, +1, ...
};

namespace jsb_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kVersion = 8, kUuid = 16, kBlocks = 32, kTail = 40,
                        kTailSeq = 48, kEnd = 56;
}
static_assert(jsb_off::kEnd <= kBlockSize);

// Descriptor block: header, then `count` u64 home block numbers; the next `count`
// blocks of the journal are their images, in that order.
namespace jd_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kSeq = 8, kCount = 16, kUuid = 24, kTags = 40;
}
inline constexpr uint32_t kJournalTagsPerDesc = (kBlockSize - jd_off::kTags) / 8;  // 507

// Commit block: closes transaction `seq`; txn_crc is CRC-32C over every descriptor and
// image block of the transaction, in journal order.
namespace jc_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kSeq = 8, kBlocks = 16, kDescs = 20, kTxnCrc = 24,
                        kUuid = 28, kTime = 44, kEnd = 52;
}
static_assert(jc_off::kEnd <= kBlockSize);

struct JournalCommit {
  uint64_t seq = 0;
  uint32_t blocks = 0;  // image blocks in the transaction
  uint32_t descs = 0;   // descriptor blocks in the transaction
  uint32_t txn_crc = 0;
  std::array<uint8_t, 16> uuid{};
  int64_t time = 0;
};

void encode_journal_super(const JournalSuper& js, void* block);
// 0, or -EUCLEAN with *why (bad magic, crc, version, tail outside the region).
int decode_journal_super(const void* block, JournalSuper* js, std::string* why);

// Fills a descriptor block naming homes[0..count) (count <= kJournalTagsPerDesc).
void encode_journal_desc(uint64_t seq, const std::array<uint8_t, 16>& uuid, const uint64_t* homes,
                         uint32_t count, void* block);
// True when block is a descriptor of transaction seq of this filesystem, with its
// checksum right; fills *homes.
bool decode_journal_desc(const void* block, uint64_t seq, const std::array<uint8_t, 16>& uuid,
                         std::vector<uint64_t>* homes);

void encode_journal_commit(const JournalCommit& c, void* block);
// True when block is a commit block of transaction seq of this filesystem, crc right.
bool decode_journal_commit(const void* block, uint64_t seq, const std::array<uint8_t, 16>& uuid,
                           JournalCommit* c);

// Blocks a transaction of n home blocks takes in the journal (descriptors, images, commit).
inline constexpr uint64_t journal_txn_blocks(uint64_t n) {
  return (n + kJournalTagsPerDesc - 1) / kJournalTagsPerDesc + n + 1;
}

}  // namespace chainfs::format
