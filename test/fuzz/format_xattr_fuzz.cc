// The xattr blob decoder and the xattr block check on arbitrary bytes.
// Input: u8 flags (kFixChecksums: re-seal the block's crc; bit 1: the input is a blob,
// not a block), u64 LE inode, u32 LE chain position, then the block (or blob).
#include <cerrno>
#include <string>
#include <string_view>

#include "fs/format/endian.h"
#include "fs/format/xattr.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

namespace {

void blob(std::string_view bytes) {
  format::XattrMap m;
  int r = format::decode_xattrs(bytes, &m);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN);
  if (r != 0) return;
  for (const auto& [name, value] : m) {
    std::string_view suffix;
    uint8_t ns = format::xattr_split(name, &suffix);
    FUZZ_CHECK(ns != 0);
    FUZZ_CHECK(format::xattr_join(ns, suffix) == name);
  }
  format::XattrMap again;
  FUZZ_CHECK(format::decode_xattrs(format::encode_xattrs(m), &again) == 0);
  FUZZ_CHECK(again == m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 13) return -1;
  const uint64_t ino = format::load_le64(data + 1);
  const uint32_t seq = format::load_le32(data + 9);
  if (data[0] & 2) {
    blob(std::string_view(reinterpret_cast<const char*>(data + 13), size - 13));
    return 0;
  }
  auto b = fuzz::block_from(data, size, 13);
  if (data[0] & fuzz::kFixChecksums) fuzz::seal_block_crc(b.data());
  format::XattrBlockHeader h;
  int r = format::check_xattr_block(b.data(), ino, seq, &h);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN);
  if (r == 0) {
    FUZZ_CHECK(h.ino == ino && h.seq == seq && h.len <= format::kXattrPayload);
    // A block that checks holds a piece of a blob: decoding it alone must not misbehave.
    blob(std::string_view(reinterpret_cast<const char*>(b.data()) + format::xb_off::kPayload, h.len));
  }
  return 0;
}
