#pragma once
// The one unit of chainfs: a block on the device, a page of the page cache and of the page
// pool, and the granule of every device request are all kBlockSize bytes. The on-disk
// format records it in the superblock; a device whose logical blocks are larger is refused.
#include <cstddef>

namespace chainfs {

inline constexpr std::size_t kBlockSize = 4096;

}  // namespace chainfs
