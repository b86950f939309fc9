#include "tools/fsck/replay.h"

#include <cerrno>
#include <cstring>

#include "fs/format/superblock.h"
#include "fs/meta/journal.h"

namespace chainfs::fsck {


namespace {

// The device as the replayed journal leaves it, in memory; writes are refused.
class ReplayView final : public io::Device {
 public:
  ReplayView(io::Device& inner, std::map<uint64_t, std::shared_ptr<const mem::AlignedBuffer>> images)
      : inner_(inner), images_(std::move(images)) {}
  uint64_t size_bytes() const override { return inner_.size_bytes(); }
  const io::QueueLimits& limits() const override { return inner_.limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override {
    if (int r = inner_.readv(offset, iov, iovcnt); r < 0) return r;
    // Whole blocks only (the check reads blocks and regions of blocks).
    uint64_t pos = offset;
    for (int i = 0; i < iovcnt; ++i) {
      auto* p = static_cast<char*>(iov[i].iov_base);
      for (size_t k = 0; k < iov[i].iov_len; k += kBlockSize, pos += kBlockSize) {
        auto it = images_.find(pos / kBlockSize);
        if (it != images_.end() && pos % kBlockSize == 0 && iov[i].iov_len - k >= kBlockSize)
          std::memcpy(p + k, it->second->data(), kBlockSize);
      }
    }
    return 0;
  }
  int writev(uint64_t, const struct iovec*, int) override { return -EROFS; }
  int flush() override { return 0; }

 private:
  io::Device& inner_;
  std::map<uint64_t, std::shared_ptr<const mem::AlignedBuffer>> images_;
};

}  // namespace

int replay_journal(io::Device& dev, bool write, Replay* out, std::unique_ptr<io::Device>* view) {
  *out = Replay{};
  const uint64_t dev_blocks = dev.size_bytes() / kBlockSize;
  mem::AlignedBuffer buf(kBlockSize);
  if (dev_blocks < 2) return 0;
  int r = dev.read(0, buf.data(), kBlockSize);
  if (r < 0) return r;
  format::Superblock sb;
  std::string why;
  if (format::decode_superblock(buf.data(), dev_blocks, &sb, &why) < 0) {
    // The backup, in the device's last block, as the mount and the check use it.
    if ((r = dev.read((dev_blocks - 1) * kBlockSize, buf.data(), kBlockSize)) < 0) return r;
    if (format::decode_superblock(buf.data(), dev_blocks, &sb, &why) < 0) return 0;
  }
  if (!(sb.compat & format::kCompatJournal)) return 0;
  fs::Journal journal(dev, sb.journal_start, sb.journal_blocks, sb.uuid);
  fs::JournalRecovery rec;
  if ((r = journal.recover(&rec, &out->why)) < 0) {
    if (r != -EUCLEAN) return r;
    out->journal_bad = true;
    if (write) {
      // Nothing in it can be trusted: an empty journal (the check then finds what the
      // lost transactions leave behind).
      if ((r = journal.create()) < 0) return r;
      out->journal_reset = true;
    }
    return 0;
  }
  out->transactions = rec.transactions;
  out->blocks = rec.blocks;
  if (rec.transactions == 0) return 0;
  for (auto& [home, img] : rec.images)
    if (home >= dev_blocks) {
      out->why = "the journal names a block outside the device";
      out->journal_bad = true;
      out->transactions = 0;
      if (write && (r = journal.create()) < 0) return r;
      out->journal_reset = write;
      return 0;
    }
  if (!write) {
    *view = std::make_unique<ReplayView>(dev, std::move(rec.images));
    return 0;
  }
  for (auto& [home, img] : rec.images)
    if ((r = dev.write(home * kBlockSize, img->data(), kBlockSize)) < 0) return r;
  if ((r = dev.flush()) < 0) return r;
  return journal.reset();
}

}  // namespace chainfs::fsck
