#pragma once
// BlockWriter: writes whole metadata blocks -- the journal's log, checkpoint writes to the
// blocks' homes -- through the bio_chain builder (io/bio_chain.h). Blocks given in ascending
// order merge into the largest requests the device accepts (adjacent buffers into one
// segment), and the requests of one call are in flight together on an asynchronous device.
//
// It submits to the engine's asynchronous side once attach() has named it (the mount's
// data path); before that, and for tools that have no engine (mkfs, fsck, tests), it runs
// the requests on the device's synchronous calls (io::SyncBioDevice).
//
// Thread-safe: each write() builds its own chain; the request pool is shared.
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "io/bio_device.h"
#include "io/bio_pool.h"
#include "io/device.h"
#include "io/sync_bio_device.h"

namespace chainfs::fs {

class BlockWriter {
 public:
  // One block to write: its block number and its 4096 bytes (O_DIRECT-aligned memory).
  struct Block {
    uint64_t blk;
    const char* data;
  };

  explicit BlockWriter(io::Device& dev);
  BlockWriter(const BlockWriter&) = delete;
  BlockWriter& operator=(const BlockWriter&) = delete;

  // From now on requests go to bdev (the same device's asynchronous side), which must
  // outlive every later write(). REQUIRES: no write() is running.
  void attach(io::BioDevice& bdev);

  // Writes the blocks and waits for all of them. 0 or the first -errno. Does not flush.
  int write(std::span<const Block> blocks);
  // Makes everything written so far durable (the device's cache flush).
  int flush() { return dev_.flush(); }

  // Requests and bytes that write() sent to the device.
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  io::Device& dev_;
  io::SyncBioDevice sync_;
  std::unique_ptr<io::BioPool> pool_;
  std::atomic<uint64_t> requests_{0}, bytes_{0};
};

}  // namespace chainfs::fs
