#pragma once
// Extended attributes of one inode, serialised as one blob:
//   repeated { u8 namespace, u8 name_len, u32 value_len, name (without prefix), value }.
// A blob of at most kInlineXattrSize bytes lives in the inode; a larger one in a chain
// of xattr blocks (each: 32-byte checksummed header, then kXattrPayload blob bytes).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fs/format/layout.h"

namespace chainfs::format {

enum XattrNs : uint8_t { kXattrUser = 1, kXattrTrusted = 2, kXattrSecurity = 3 };

inline constexpr size_t kXattrBlobMax = 256 * 1024;  // all attributes of one inode

// Splits "user.foo" into (kXattrUser, "foo"); 0 when the namespace is not supported.
uint8_t xattr_split(std::string_view full, std::string_view* suffix);
std::string xattr_join(uint8_t ns, std::string_view suffix);

// Attributes keyed by full name ("user.foo").
using XattrMap = std::map<std::string, std::string, std::less<>>;
std::string encode_xattrs(const XattrMap& m);
int decode_xattrs(std::string_view blob, XattrMap* out);  // 0 or -EUCLEAN

namespace xb_off {
inline constexpr size_t kMagic = 0, kCrc = 4, kIno = 8, kNext = 16, kLen = 24, kSeq = 28,
                        kPayload = 32;
}
inline constexpr size_t kXattrPayload = kBlockSize - xb_off::kPayload;

struct XattrBlockHeader {
  uint64_t ino = 0;
  uint64_t next = 0;  // next block of the chain, 0 = last
  uint32_t len = 0;   // payload bytes used
  uint32_t seq = 0;   // position in the chain
};
void seal_xattr_block(const XattrBlockHeader& h, void* block);
int check_xattr_block(const void* block, uint64_t ino, uint32_t seq, XattrBlockHeader* h);

}  // namespace chainfs::format
