#include "fs/format/extent.h"

#include <cerrno>

#include "fs/format/endian.h"
#include "fs/format/layout.h"

namespace chainfs::format {

void encode_extent(const Extent& e, void* out) {
  auto* p = static_cast<char*>(out);
  store_le64(p, e.logical);
  store_le64(p + 8, e.physical);
  store_le32(p + 16, e.len);
  store_le32(p + 20, e.flags);
}

Extent decode_extent(const void* in) {
  auto* p = static_cast<const char*>(in);
  return Extent{load_le64(p), load_le64(p + 8), load_le32(p + 16), load_le32(p + 20)};
}

int check_extent(const Extent& e, uint64_t data_start, uint64_t block_count) {
  if (e.len == 0 || e.len > kMaxExtentBlocks) return -EUCLEAN;
  if (e.flags & ~kExtentUnwritten) return -EUCLEAN;
  if (e.physical < data_start || e.physical >= block_count || e.len > block_count - e.physical)
    return -EUCLEAN;
  if (e.logical > (kMaxFileSize / kBlockSize) || e.len > (kMaxFileSize / kBlockSize) - e.logical)
    return -EUCLEAN;
  return 0;
}

}  // namespace chainfs::format
