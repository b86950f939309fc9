#include "fs/meta/journal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "fs/format/crc32c.h"

namespace chainfs::fs {


Journal::Journal(io::Device& dev, uint64_t start, uint64_t blocks, const Uuid& uuid, bool force_compound_fallback)
    : dev_(dev), writer_(dev), start_(start), blocks_(blocks), uuid_(uuid) {
  mem::PoolOptions po;
  po.kind = mem::PoolKind::kGang;
  po.arena_bytes = std::max<size_t>(blocks * kBlockSize, size_t{2} << 20);  // one arena holds the largest log
  po.force_fallback = force_compound_fallback;
  pool_ = mem::make_page_pool(po);
}

int Journal::write_blocks(std::span<const BlockWriter::Block> blocks) {
  uint64_t before = writer_.requests();
  int r = writer_.write(blocks);
  stats_->write_requests.fetch_add(writer_.requests() - before, std::memory_order_relaxed);
  if (r == 0) stats_->write_bytes.fetch_add(blocks.size() * kBlockSize, std::memory_order_relaxed);
  return r;
}

uint64_t Journal::max_homes(uint64_t free_blocks) {
  if (free_blocks < 3) return 0;
  // n images need ceil(n / tags) descriptors and one commit block.
  uint64_t n = (free_blocks - 1) * format::kJournalTagsPerDesc / (format::kJournalTagsPerDesc + 1);
  while (n > 0 && format::journal_txn_blocks(n) > free_blocks) --n;
  return n;
}

int Journal::write_super() {
  format::JournalSuper js;
  js.uuid = uuid_;
  js.blocks = blocks_;
  js.tail = 1;
  js.tail_seq = tail_seq_;
  mem::AlignedBuffer b(kBlockSize);
  format::encode_journal_super(js, b.data());
  BlockWriter::Block blk{start_, b.data()};
  return write_blocks({&blk, 1});
}

int Journal::create(uint64_t seq) {
  if (blocks_ < format::kJournalMinBlocks) return -EINVAL;
  head_ = 1;
  next_seq_ = tail_seq_ = seq;
  // Whatever an earlier journal left in the region must not parse as a log: its first
  // block goes (a log starts there).
  mem::AlignedBuffer zero(kBlockSize);
  BlockWriter::Block first{start_ + 1, zero.data()};
  int r = write_blocks({&first, 1});
  if (r == 0) r = write_super();
  return r < 0 ? r : writer_.flush();
}

int Journal::recover(JournalRecovery* out, std::string* why) {
  *out = JournalRecovery{};
  mem::AlignedBuffer b(kBlockSize);
  int r = dev_.read(start_ * kBlockSize, b.data(), kBlockSize);
  if (r < 0) {
    *why = fmt::format("cannot read the journal superblock: error {}", r);
    return r;
  }
  format::JournalSuper js;
  if ((r = format::decode_journal_super(b.data(), &js, why)) < 0) return r;
  if (js.blocks != blocks_ || js.uuid != uuid_) {
    *why = "journal superblock does not belong to this filesystem";
    return -EUCLEAN;
  }
  uint64_t pos = js.tail, seq = js.tail_seq;
  std::vector<uint64_t> homes;
  for (;;) {
    // One transaction: descriptors with their images, then the commit block.
    std::vector<std::pair<uint64_t, std::shared_ptr<mem::AlignedBuffer>>> txn;
    uint32_t txn_crc = 0, descs = 0;
    uint64_t p = pos;
    bool committed = false;
    while (p < blocks_) {
      if (dev_.read((start_ + p) * kBlockSize, b.data(), kBlockSize) < 0) break;
      format::JournalCommit c;
      if (format::decode_journal_commit(b.data(), seq, uuid_, &c)) {
        committed = c.txn_crc == txn_crc && c.blocks == txn.size() && c.descs == descs && descs > 0;
        ++p;
        break;
      }
      if (!format::decode_journal_desc(b.data(), seq, uuid_, &homes) || p + 1 + homes.size() > blocks_) break;
      txn_crc = format::crc32c::extend(txn_crc, b.data(), kBlockSize);
      ++descs;
      ++p;
      for (uint64_t home : homes) {
        auto img = std::make_shared<mem::AlignedBuffer>(kBlockSize);
        if (dev_.read((start_ + p) * kBlockSize, img->data(), kBlockSize) < 0) {
          p = blocks_;  // unreadable: the log ends here
          break;
        }
        txn_crc = format::crc32c::extend(txn_crc, img->data(), kBlockSize);
        txn.emplace_back(home, std::move(img));
        ++p;
      }
    }
    if (!committed) break;  // the end of the log: anything after it never committed
    for (auto& [home, img] : txn) out->images[home] = std::move(img);
    if (out->transactions++ == 0) out->first_seq = seq;
    out->last_seq = seq;
    ++seq;
    pos = p;
  }
  out->blocks = out->images.size();
  // The recovered transactions stay live until the caller has put them home and calls
  // reset(); new ones go behind them.
  head_ = pos;
  next_seq_ = seq;
  tail_seq_ = js.tail_seq;
  return 0;
}

int Journal::commit(const std::vector<BlockImage>& txn) {
  if (txn.empty()) return 0;
  if (!fits(txn.size())) return -ENOSPC;
  const uint64_t seq = next_seq_;
  const size_t per = format::kJournalTagsPerDesc;
  const size_t ndesc = (txn.size() + per - 1) / per;
  // The log: each descriptor followed by its images, in one buffer.
  mem::CompoundBuffer log = pool_->alloc_compound((txn.size() + ndesc) * kBlockSize);
  stats_->log_buffers.fetch_add(1, std::memory_order_relaxed);
  if (log.contiguous()) stats_->contiguous_log_buffers.fetch_add(1, std::memory_order_relaxed);
  std::vector<BlockWriter::Block> blocks;
  blocks.reserve(log.page_count());
  std::vector<uint64_t> homes(per);
  uint32_t txn_crc = 0;
  auto add = [&](const char* page) {
    txn_crc = format::crc32c::extend(txn_crc, page, kBlockSize);
    blocks.push_back({start_ + head_ + blocks.size(), page});
  };
  for (size_t i = 0; i < txn.size(); i += per) {
    size_t n = std::min(per, txn.size() - i);
    for (size_t k = 0; k < n; ++k) homes[k] = txn[i + k].home;
    char* d = log.page(blocks.size());
    format::encode_journal_desc(seq, uuid_, homes.data(), static_cast<uint32_t>(n), d);
    add(d);
    for (size_t k = 0; k < n; ++k) {
      char* img = log.page(blocks.size());
      std::memcpy(img, txn[i + k].data->data(), kBlockSize);
      add(img);
    }
  }
  // 1. descriptors and images, 2. flush (they, and every data write completed before,
  // are durable), 3. the commit block, 4. flush: the transaction is durable.
  if (int r = write_blocks(blocks); r < 0) return r;
  if (int r = writer_.flush(); r < 0) return r;
  format::JournalCommit c;
  c.seq = seq;
  c.blocks = static_cast<uint32_t>(txn.size());
  c.descs = static_cast<uint32_t>(ndesc);
  c.txn_crc = txn_crc;
  c.uuid = uuid_;
  c.time = ::time(nullptr);
  mem::AlignedBuffer cb(kBlockSize);
  format::encode_journal_commit(c, cb.data());
  BlockWriter::Block commit{start_ + head_ + blocks.size(), cb.data()};
  if (int r = write_blocks({&commit, 1}); r < 0) return r;
  if (int r = writer_.flush(); r < 0) return r;
  head_ += blocks.size() + 1;
  ++next_seq_;
  stats_->commits.fetch_add(1, std::memory_order_relaxed);
  stats_->blocks.fetch_add(txn.size(), std::memory_order_relaxed);
  return 0;
}

int Journal::reset() {
  tail_seq_ = next_seq_;
  int r = write_super();
  if (r < 0) return r;
  if ((r = writer_.flush()) < 0) return r;
  head_ = 1;
  stats_->resets.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

}  // namespace chainfs::fs
