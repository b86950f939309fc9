#include "fs/meta/block_writer.h"

#include "fs/format/layout.h"
#include "io/bio_chain.h"

namespace chainfs::fs {

namespace {
// Requests of one device in flight at once for metadata: enough to keep a checkpoint's
// scattered runs going together; a chain that needs more waits for the oldest.
constexpr uint32_t kRequests = 8;
}  // namespace

BlockWriter::BlockWriter(io::Device& dev)
    : dev_(dev), sync_(dev), pool_(std::make_unique<io::BioPool>(sync_, kRequests)) {}

void BlockWriter::attach(io::BioDevice& bdev) { pool_ = std::make_unique<io::BioPool>(bdev, kRequests); }

int BlockWriter::write(std::span<const Block> blocks) {
  if (blocks.empty()) return 0;
  constexpr uint32_t kBytes = kBlockSize;
  // Only this thread waits for the requests: they may complete where they are reaped.
  io::ChainOptions co;
  co.inline_completion = true;
  io::BioChain chain(*pool_, co);
  for (const Block& b : blocks)
    chain.append({const_cast<char*>(b.data), 0, kBytes}, b.blk * kBytes);
  int r = chain.wait();
  requests_.fetch_add(chain.submitted(), std::memory_order_relaxed);
  bytes_.fetch_add(uint64_t{kBytes} * blocks.size(), std::memory_order_relaxed);
  return r;
}

}  // namespace chainfs::fs
