#pragma once
// PageView: a byte range inside one page buffer, the unit the page cache hands to the
// bio_chain builder. The buffer comes from the page pool (mem/) or any O_DIRECT-aligned
// memory; io/ never owns or frees it.
#include <cstdint>

namespace chainfs::io {

struct PageView {
  char* buffer = nullptr;  // start of the page
  uint32_t offset = 0;     // first byte of the range within the page
  uint32_t length = 0;     // bytes in the range

  char* data() const { return buffer + offset; }
};

}  // namespace chainfs::io
