#include "fs/format/xattr.h"

#include <cerrno>

#include "fs/format/crc32c.h"
#include "fs/format/endian.h"

namespace chainfs::format {

namespace {
constexpr std::string_view kPrefixes[] = {"", "user.", "trusted.", "security."};
constexpr size_t kRecHeader = 6;
}  // namespace

uint8_t xattr_split(std::string_view full, std::string_view* suffix) {
  for (uint8_t ns = kXattrUser; ns <= kXattrSecurity; ++ns) {
    if (full.starts_with(kPrefixes[ns])) {
      *suffix = full.substr(kPrefixes[ns].size());
      return ns;
    }
  }
  return 0;
}

std::string xattr_join(uint8_t ns, std::string_view suffix) {
  return std::string(kPrefixes[ns]) + std::string(suffix);
}

std::string encode_xattrs(const XattrMap& m) {
  std::string out;
  for (const auto& [name, value] : m) {
    std::string_view suffix;
    uint8_t ns = xattr_split(name, &suffix);
    char hdr[kRecHeader];
    hdr[0] = static_cast<char>(ns);
    hdr[1] = static_cast<char>(suffix.size());
    store_le32(hdr + 2, static_cast<uint32_t>(value.size()));
    out.append(hdr, kRecHeader);
    out.append(suffix);
    out.append(value);
  }
  return out;
}

int decode_xattrs(std::string_view b, XattrMap* out) {
  out->clear();
  size_t pos = 0;
  while (pos < b.size()) {
    if (b.size() - pos < kRecHeader) return -EUCLEAN;
    uint8_t ns = static_cast<uint8_t>(b[pos]);
    size_t nlen = static_cast<uint8_t>(b[pos + 1]);
    size_t vlen = load_le32(b.data() + pos + 2);
    pos += kRecHeader;
    if (ns < kXattrUser || ns > kXattrSecurity || nlen == 0) return -EUCLEAN;
    if (b.size() - pos < nlen || b.size() - pos - nlen < vlen) return -EUCLEAN;
    std::string name = xattr_join(ns, b.substr(pos, nlen));
    pos += nlen;
    (*out)[std::move(name)] = std::string(b.substr(pos, vlen));
    pos += vlen;
  }
  return 0;
}

void seal_xattr_block(const XattrBlockHeader& h, void* block) {
  auto* p = static_cast<char*>(block);
  store_le32(p + xb_off::kMagic, kXattrMagic);
  store_le64(p + xb_off::kIno, h.ino);
  store_le64(p + xb_off::kNext, h.next);
  store_le32(p + xb_off::kLen, h.len);
  store_le32(p + xb_off::kSeq, h.seq);
  store_le32(p + xb_off::kCrc, crc32c::block(block, kBlockSize, xb_off::kCrc));
}

int check_xattr_block(const void* block, uint64_t ino, uint32_t seq, XattrBlockHeader* h) {
  auto* p = static_cast<const char*>(block);
  if (load_le32(p + xb_off::kMagic) != kXattrMagic) return -EUCLEAN;
  if (load_le32(p + xb_off::kCrc) != crc32c::block(block, kBlockSize, xb_off::kCrc)) return -EUCLEAN;
  h->ino = load_le64(p + xb_off::kIno);
  h->next = load_le64(p + xb_off::kNext);
  h->len = load_le32(p + xb_off::kLen);
  h->seq = load_le32(p + xb_off::kSeq);
  if (h->ino != ino || h->seq != seq || h->len > kXattrPayload) return -EUCLEAN;
  return 0;
}

}  // namespace chainfs::format
