#pragma once
// Journal: the metadata write-ahead log in the journal region (FORMAT.md "Journal").
//
// A transaction is a set of whole metadata block images. commit() writes its descriptor
// and image blocks after the last live transaction, flushes the device, writes the
// commit block and flushes again: from then on the transaction survives a crash, and
// the caller may write the images to their home blocks (checkpoint) whenever it likes.
// Once every home write of every live transaction is on the device (written and
// flushed), reset() makes the whole journal free again. The log never wraps: a
// transaction that does not fit behind the live ones waits for a checkpoint and
// reset(), and then starts at the front.
//
// recover() finds the committed transactions left by a crash; a transaction whose
// commit block is missing, torn or checksummed wrong ends the log and is ignored
// whole. Replaying is idempotent (images, not deltas), so a crash during replay just
// replays again.
//
// Every journal write goes through a BlockWriter (the bio_chain builder); a transaction's
// log blocks are one mem/ compound buffer, one contiguous run when the journal's page pool
// has one, so the log reaches the device in requests as large as the device takes.
//
// Not thread-safe: the metadata layer calls it under its write-back lock.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fs/format/journal.h"
#include "fs/meta/block_writer.h"
#include "io/device.h"
#include "mem/aligned_buffer.h"
#include "mem/page_pool.h"

namespace chainfs::fs {

// One metadata block of a transaction: its home block number and its 4096 bytes.
struct BlockImage {
  uint64_t home = 0;
  std::shared_ptr<const mem::AlignedBuffer> data;
};

// Counters of journal writes; shared, so a statistics reader may outlive the journal.
struct JournalStats {
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> blocks{0};          // home-block images committed
  std::atomic<uint64_t> write_requests{0};  // journal write requests and their bytes
  std::atomic<uint64_t> write_bytes{0};
  std::atomic<uint64_t> resets{0};          // checkpoints that emptied the journal
  // Transactions' log buffers (mem/ compound buffers) and how many were one contiguous run.
  std::atomic<uint64_t> log_buffers{0};
  std::atomic<uint64_t> contiguous_log_buffers{0};
};

// What recover() found.
struct JournalRecovery {
  uint64_t transactions = 0;  // committed transactions found
  uint64_t blocks = 0;        // distinct home blocks they write
  uint64_t first_seq = 0, last_seq = 0;
  // Latest committed image of each home block, to be written home (or kept in memory).
  std::map<uint64_t, std::shared_ptr<const mem::AlignedBuffer>> images;
};

class Journal {
 public:
  using Uuid = std::array<uint8_t, 16>;

  // The region [start, start + blocks) of dev, for the filesystem with this uuid.
  // force_compound_fallback: log buffers are always scatter lists (PoolOptions).
  Journal(io::Device& dev, uint64_t start, uint64_t blocks, const Uuid& uuid, bool force_compound_fallback = false);
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes an empty journal (mkfs, a filesystem made before the journal existed, or fsck
  // replacing a corrupt one) and flushes. Sequence numbers start at seq.
  int create(uint64_t seq = 1);
  // Reads and checks the journal superblock, then scans the log from its tail. Does not
  // write. 0, or -errno / -EUCLEAN with *why.
  int recover(JournalRecovery* out, std::string* why);

  // Home blocks the largest single transaction may hold (an empty journal).
  uint64_t capacity() const { return max_homes(blocks_ - 1); }
  // True when a transaction of n home blocks fits behind the live ones.
  bool fits(uint64_t n) const { return format::journal_txn_blocks(n) <= blocks_ - head_; }
  bool empty() const { return head_ == 1; }
  // Blocks in use by live transactions (descriptors, images, commits).
  uint64_t used() const { return head_ - 1; }
  uint64_t region_blocks() const { return blocks_; }

  // Commits one transaction (fits(txn.size()) must hold). 0 or -errno; on error
  // nothing of it counts and the journal stays as it was.
  int commit(const std::vector<BlockImage>& txn);
  // Every live transaction has been written home and flushed: empties the journal
  // (new journal superblock, flushed).
  int reset();

  std::shared_ptr<const JournalStats> stats() const { return stats_; }
  // Writes go to the engine's asynchronous side from now on (BlockWriter::attach).
  void attach(io::BioDevice& bdev) { writer_.attach(bdev); }

 private:
  static uint64_t max_homes(uint64_t free_blocks);
  int write_super();
  // Writes the given blocks of the region (relative block numbers), counted in stats_.
  int write_blocks(std::span<const BlockWriter::Block> blocks);

  io::Device& dev_;
  BlockWriter writer_;
  // Where log buffers come from: a pool of the journal's own, so that a commit never waits
  // for the page cache's byte cap (whose reclaim may itself wait for a commit).
  std::unique_ptr<mem::PagePool> pool_;
  const uint64_t start_, blocks_;
  const Uuid uuid_;
  uint64_t head_ = 1;      // relative block where the next transaction starts
  uint64_t next_seq_ = 1;  // sequence number of the next transaction
  uint64_t tail_seq_ = 1;  // sequence number of the first live transaction
  std::shared_ptr<JournalStats> stats_ = std::make_shared<JournalStats>();
};

}  // namespace chainfs::fs
