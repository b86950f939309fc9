#include "tools/fsck/read_store.h"

#include <cerrno>
#include <cstring>

#include "base/result.h"
#include "io/device.h"

namespace chainfs::fsck {

int ReadStore::read_block(uint64_t blockno, void* buf) {
  auto it = cache_.find(blockno);
  if (it != cache_.end()) {
    std::memcpy(buf, it->second.get(), kBlockSize);
    return 0;
  }
  if (blockno < data_start_ || blockno >= data_end_) {
    last_error_ = "node pointer " + std::to_string(blockno) + " outside the data area";
    return -kCorrupt;
  }
  int r = dev_.read(blockno * kBlockSize, buf_.data(), kBlockSize);
  if (r < 0) {
    last_error_ = "read error on block " + std::to_string(blockno) + ": " + std::strerror(-r);
    return r;
  }
  ++reads_;
  auto copy = std::make_unique<char[]>(kBlockSize);
  std::memcpy(copy.get(), buf_.data(), kBlockSize);
  std::memcpy(buf, buf_.data(), kBlockSize);
  cache_.emplace(blockno, std::move(copy));
  return 0;
}

}  // namespace chainfs::fsck
