#include "fs/format/journal.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "fs/format/crc32c.h"
#include "fs/format/endian.h"

namespace chainfs::format {

namespace {
char* at(void* b, size_t off) { return static_cast<char*>(b) + off; }
const char* at(const void* b, size_t off) { return static_cast<const char*>(b) + off; }

bool same_uuid(const void* p, const std::array<uint8_t, 16>& uuid) {
  return std::memcmp(p, uuid.data(), uuid.size()) == 0;
}

// Magic right and the block's own crc (at offset 4) right.
bool sealed(const void* block, uint32_t magic) {
  return load_le32(at(block, 0)) == magic && load_le32(at(block, 4)) == crc32c::block(block, kBlockSize, 4);
}

void seal(void* block) { store_le32(at(block, 4), crc32c::block(block, kBlockSize, 4)); }
}  // namespace

void encode_journal_super(const JournalSuper& js, void* block) {
  std::memset(block, 0, kBlockSize);
  store_le32(at(block, jsb_off::kMagic), kJournalSuperMagic);
  store_le32(at(block, jsb_off::kVersion), js.version);
  std::memcpy(at(block, jsb_off::kUuid), js.uuid.data(), js.uuid.size());
  store_le64(at(block, jsb_off::kBlocks), js.blocks);
  store_le64(at(block, jsb_off::kTail), js.tail);
  store_le64(at(block, jsb_off::kTailSeq), js.tail_seq);
  seal(block);
}

int decode_journal_super(const void* block, JournalSuper* js, std::string* why) {
  if (load_le32(at(block, jsb_off::kMagic)) != kJournalSuperMagic) {
    *why = "journal superblock: bad magic";
    return -EUCLEAN;
  }
  if (!sealed(block, kJournalSuperMagic)) {
    *why = "journal superblock: bad checksum";
    return -EUCLEAN;
  }
  JournalSuper s;
  s.version = load_le32(at(block, jsb_off::kVersion));
  std::memcpy(s.uuid.data(), at(block, jsb_off::kUuid), s.uuid.size());
  s.blocks = load_le64(at(block, jsb_off::kBlocks));
  s.tail = load_le64(at(block, jsb_off::kTail));
  s.tail_seq = load_le64(at(block, jsb_off::kTailSeq));
  if (s.version != kJournalVersion) {
    *why = fmt::format("journal superblock: unknown version {}", s.version);
    return -EUCLEAN;
  }
  if (s.blocks < kJournalMinBlocks || s.tail < 1 || s.tail >= s.blocks || s.tail_seq == 0) {
    *why = fmt::format("journal superblock: bad geometry (blocks {}, tail {}, sequence {})", s.blocks, s.tail,
                       s.tail_seq);
    return -EUCLEAN;
  }
  *js = s;
  return 0;
}

void encode_journal_desc(uint64_t seq, const std::array<uint8_t, 16>& uuid, const uint64_t* homes,
                         uint32_t count, void* block) {
  std::memset(block, 0, kBlockSize);
  store_le32(at(block, jd_off::kMagic), kJournalDescMagic);
  store_le64(at(block, jd_off::kSeq), seq);
  store_le32(at(block, jd_off::kCount), count);
  std::memcpy(at(block, jd_off::kUuid), uuid.data(), uuid.size());
  for (uint32_t i = 0; i < count; ++i) store_le64(at(block, jd_off::kTags + 8 * i), homes[i]);
  seal(block);
}

bool decode_journal_desc(const void* block, uint64_t seq, const std::array<uint8_t, 16>& uuid,
                         std::vector<uint64_t>* homes) {
  if (!sealed(block, kJournalDescMagic)) return false;
  if (load_le64(at(block, jd_off::kSeq)) != seq || !same_uuid(at(block, jd_off::kUuid), uuid)) return false;
  uint32_t count = load_le32(at(block, jd_off::kCount));
  if (count == 0 || count > kJournalTagsPerDesc) return false;
  homes->resize(count);
  for (uint32_t i = 0; i < count; ++i) (*homes)[i] = load_le64(at(block, jd_off::kTags + 8 * i));
  return true;
}

void encode_journal_commit(const JournalCommit& c, void* block) {
  std::memset(block, 0, kBlockSize);
  store_le32(at(block, jc_off::kMagic), kJournalCommitMagic);
  store_le64(at(block, jc_off::kSeq), c.seq);
  store_le32(at(block, jc_off::kBlocks), c.blocks);
  store_le32(at(block, jc_off::kDescs), c.descs);
  store_le32(at(block, jc_off::kTxnCrc), c.txn_crc);
  std::memcpy(at(block, jc_off::kUuid), c.uuid.data(), c.uuid.size());
  store_le64(at(block, jc_off::kTime), static_cast<uint64_t>(c.time));
  seal(block);
}

bool decode_journal_commit(const void* block, uint64_t seq, const std::array<uint8_t, 16>& uuid,
                           JournalCommit* c) {
  if (!sealed(block, kJournalCommitMagic)) return false;
  if (load_le64(at(block, jc_off::kSeq)) != seq || !same_uuid(at(block, jc_off::kUuid), uuid)) return false;
  c->seq = seq;
  c->blocks = load_le32(at(block, jc_off::kBlocks));
  c->descs = load_le32(at(block, jc_off::kDescs));
  c->txn_crc = load_le32(at(block, jc_off::kTxnCrc));
  c->uuid = uuid;
  c->time = static_cast<int64_t>(load_le64(at(block, jc_off::kTime)));
  return true;
}

}  // namespace chainfs::format
