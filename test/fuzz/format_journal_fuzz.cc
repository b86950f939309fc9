// The journal block decoders (superblock, descriptor, commit) on arbitrary bytes.
// Input: u8 flags (kFixChecksums: re-seal the crc), u64 LE sequence, 16-byte uuid, then
// the block, decoded as each of the three kinds.
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fs/format/endian.h"
#include "fs/format/journal.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 25) return -1;
  const uint64_t seq = format::load_le64(data + 1);
  std::array<uint8_t, 16> uuid;
  std::memcpy(uuid.data(), data + 9, 16);
  auto b = fuzz::block_from(data, size, 25);
  if (data[0] & fuzz::kFixChecksums) fuzz::seal_block_crc(b.data());

  format::JournalSuper js;
  std::string why;
  int r = format::decode_journal_super(b.data(), &js, &why);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN);
  if (r == 0) {
    FUZZ_CHECK(js.tail >= 1 && js.tail < js.blocks);
    std::vector<uint8_t> again(chainfs::kBlockSize);
    format::encode_journal_super(js, again.data());
    format::JournalSuper js2;
    FUZZ_CHECK(format::decode_journal_super(again.data(), &js2, &why) == 0);
    FUZZ_CHECK(js2.blocks == js.blocks && js2.tail == js.tail && js2.tail_seq == js.tail_seq && js2.uuid == js.uuid);
  }

  std::vector<uint64_t> homes;
  if (format::decode_journal_desc(b.data(), seq, uuid, &homes)) {
    FUZZ_CHECK(!homes.empty() && homes.size() <= format::kJournalTagsPerDesc);
    std::vector<uint8_t> again(chainfs::kBlockSize);
    format::encode_journal_desc(seq, uuid, homes.data(), static_cast<uint32_t>(homes.size()), again.data());
    std::vector<uint64_t> homes2;
    FUZZ_CHECK(format::decode_journal_desc(again.data(), seq, uuid, &homes2) && homes2 == homes);
  }

  format::JournalCommit c;
  if (format::decode_journal_commit(b.data(), seq, uuid, &c)) {
    FUZZ_CHECK(c.seq == seq && c.uuid == uuid);
    std::vector<uint8_t> again(chainfs::kBlockSize);
    format::encode_journal_commit(c, again.data());
    format::JournalCommit c2;
    FUZZ_CHECK(format::decode_journal_commit(again.data(), seq, uuid, &c2));
    FUZZ_CHECK(c2.blocks == c.blocks && c2.descs == c.descs && c2.txn_crc == c.txn_crc && c2.time == c.time);
  }
  return 0;
}
