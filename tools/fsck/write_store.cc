#include "tools/fsck/write_store.h"

#include <cerrno>
#include <cstring>

#include "base/result.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fsck {

int WriteStore::read_block(uint64_t blockno, void* buf) {
  auto it = nodes_.find(blockno);
  if (it == nodes_.end()) return -kCorrupt;
  std::memcpy(buf, it->second.get(), kBlockSize);
  return 0;
}

int WriteStore::write_block(uint64_t blockno, const void* buf) {
  auto it = nodes_.find(blockno);
  if (it == nodes_.end()) return -EINVAL;
  std::memcpy(it->second.get(), buf, kBlockSize);
  return 0;
}

int WriteStore::alloc_block(uint64_t hint, uint64_t* blockno) {
  int r = alloc_(hint, blockno);
  if (r < 0) return r;
  auto b = std::make_unique<char[]>(kBlockSize);
  std::memset(b.get(), 0, kBlockSize);
  nodes_[*blockno] = std::move(b);
  return 0;
}

// A freed block stays taken in the caller's allocator: nothing of this run hands it out
// again, and the bitmap repair writes it free.
void WriteStore::free_block(uint64_t blockno) { nodes_.erase(blockno); }

int WriteStore::flush() {
  mem::AlignedBuffer buf(kBlockSize);
  for (const auto& [b, bytes] : nodes_) {
    std::memcpy(buf.data(), bytes.get(), kBlockSize);
    int r = dev_.write(b * kBlockSize, buf.data(), kBlockSize);
    if (r < 0) return r;
  }
  return 0;
}

std::vector<uint64_t> WriteStore::blocks() const {
  std::vector<uint64_t> out;
  out.reserve(nodes_.size());
  for (const auto& kv : nodes_) out.push_back(kv.first);
  return out;
}

}  // namespace chainfs::fsck
