// Mounting, journal recovery, the read-only switch, unmount and statfs of FilesystemImpl.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fs/format/superblock.h"
#include "fs/meta/fs_impl.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fs {


FilesystemImpl::FilesystemImpl(std::unique_ptr<io::Device> dev, const MountOptions& opts)
    : vol_(std::move(dev)), opts_(opts) {
  read_only_ = opts.read_only;
  vol_.start_data_path(opts);
}

FilesystemImpl::~FilesystemImpl() {
  if (!unmounted_) unmount();
}

int FilesystemImpl::mount(std::string* msg) {
  {
    base::MutexLock g(sync_mu_);
    if (int r = mount_locked(msg); r < 0) return r;
  }
  flusher_ = std::thread([this] { flusher_loop(); });
  return 0;
}

int FilesystemImpl::mount_locked(std::string* msg) {
  io::Device& dev = vol_.dev();
  uint64_t dev_blocks = dev.size_bytes() / kBlockSize;
  if (dev_blocks < 2) {
    *msg = "device too small to hold a chainfs";
    return -EINVAL;
  }
  mem::AlignedBuffer buf(kBlockSize);
  int r = dev.read(0, buf.data(), kBlockSize);
  if (r < 0) {
    *msg = fmt::format("cannot read the superblock: {}", std::strerror(-r));
    return r;
  }
  format::Superblock sb;
  std::string why;
  r = format::decode_superblock(buf.data(), dev_blocks, &sb, &why);
  if (r < 0) {
    // The backup sits in the device's last block (mkfs uses the whole device).
    std::string why2;
    int r2 = dev.read((dev_blocks - 1) * kBlockSize, buf.data(), kBlockSize);
    if (r2 == 0) r2 = format::decode_superblock(buf.data(), dev_blocks, &sb, &why2);
    if (r2 < 0 || sb.backup_block() != dev_blocks - 1) {
      *msg = why;
      return r;
    }
    spdlog::warn("chainfs: primary superblock unusable ({}); mounted from the backup", why);
  }
  if (sb.ro_compat & ~format::kRoCompatKnown) {
    if (!read_only_) spdlog::warn("chainfs: unknown read-only-compatible features: mounting read-only");
    read_only_ = true;
  }
  // Committed transactions left by a crash go home (or, read-only, into memory) before
  // any other block is read.
  if ((r = recover_journal(&sb, msg)) < 0) return r;
  vol_.set_geometry(sb.data_start, sb.block_count);
  vol_.inode_table_start = sb.inode_table_start;
  vol_.inode_table_end = sb.inode_table_start + sb.inode_table_blocks;
  r = vol_.balloc.load(vol_.cache, sb.block_bitmap_start, sb.block_bitmap_blocks, sb.block_count,
                       sb.reserved_blocks, &why);
  if (r == 0) r = vol_.ialloc.load(vol_.cache, sb.inode_bitmap_start, sb.inode_bitmap_blocks, sb.inode_count, &why);
  if (r < 0) {
    *msg = why;
    return r;
  }
  format::DiskInode root;
  if (!vol_.ialloc.in_use(format::kRootIno) || vol_.load_inode(format::kRootIno, &root) < 0 ||
      (root.mode & S_IFMT) != S_IFDIR) {
    *msg = "root inode is missing or corrupt";
    return -EUCLEAN;
  }
  was_unclean_ = sb.state == format::kStateMounted;
  {
    base::MutexLock g(vol_.sb_mu);
    vol_.sb = sb;
  }
  if (!read_only_) {
    // From here on the journal may hold transactions: a reader that does not replay it
    // must refuse the filesystem (kIncompatRecover), until the clean unmount clears it.
    if (!journal_) {
      // A filesystem made before the journal existed: its reserved region becomes one.
      open_journal(sb);
      if ((r = journal_->create()) < 0) {
        *msg = fmt::format("cannot create the journal: {}", std::strerror(-r));
        return r;
      }
      base::MutexLock g(vol_.sb_mu);
      vol_.sb.compat |= format::kCompatJournal;
      spdlog::info("chainfs: created the metadata journal ({} blocks)", sb.journal_blocks);
    }
    if ((r = write_super_in_place(true)) < 0) {
      *msg = fmt::format("cannot write the superblock: {}", std::strerror(-r));
      return r;
    }
  }
  if (journal_) {
    txn_limit_ = std::max<uint64_t>(journal_->capacity() / 2, 8);
    publish_journal_stats();
  }
  if (!read_only_) {
    // Orphans left by a crash: inodes unlinked while open. Bounded walk.
    uint64_t ino = sb.orphan_head;
    for (uint64_t n = 0; ino && n < sb.inode_count; ++n) {
      auto in = get(ino);
      if (!in) break;
      uint64_t next = 0;
      {
        base::WriterLock l((*in)->mu);
        next = (*in)->disk.orphan_next;
        if ((*in)->disk.nlink == 0) free_inode_locked(**in);
      }
      {
        base::MutexLock g(map_mu_);
        map_.erase(ino);
      }
      ino = next;
    }
    base::MutexLock g(vol_.sb_mu);
    vol_.sb.orphan_head = 0;
    vol_.sb.state = format::kStateMounted;
    vol_.sb.mount_count++;
    vol_.sb.last_mount_time = ::time(nullptr);
  }
  if (!read_only_ && (r = write_back(false)) < 0) {
    *msg = fmt::format("cannot write the superblock: {}", std::strerror(-r));
    return r;
  }
  return 0;
}

void FilesystemImpl::open_journal(const format::Superblock& sb) {
  journal_ = std::make_unique<Journal>(vol_.dev(), sb.journal_start, sb.journal_blocks, sb.uuid,
                                       opts_.force_compound_fallback);
  journal_->attach(vol_.data().bio_device());
}

int FilesystemImpl::recover_journal(format::Superblock* sb, std::string* msg) {
  io::Device& dev = vol_.dev();
  if (!(sb->compat & format::kCompatJournal)) {
    if (sb->incompat & format::kIncompatRecover) {
      *msg = "needs journal recovery but has no journal; run fsck.chainfs";
      return -EUCLEAN;
    }
    return 0;
  }
  open_journal(*sb);
  JournalRecovery rec;
  std::string why;
  int r = journal_->recover(&rec, &why);
  if (r < 0) {
    *msg = fmt::format("{}; run fsck.chainfs", why);
    return r;
  }
  if (rec.transactions == 0) {
    if (!read_only_ && !journal_->empty()) r = journal_->reset();
    return r;
  }
  recovered_ = rec.transactions;
  spdlog::debug("chainfs: journal: {} committed transactions ({} to {}), {} blocks, {}", rec.transactions,
               rec.first_seq, rec.last_seq, rec.blocks, read_only_ ? "replayed in memory (read-only)" : "replayed");
  if (auto it = rec.images.find(0); it != rec.images.end()) {
    // The journal's superblock is newer than the one at home.
    std::string why2;
    format::Superblock jsb;
    if (format::decode_superblock(it->second->data(), dev.size_bytes() / kBlockSize, &jsb, &why2) < 0) {
      *msg = fmt::format("journal holds a bad superblock ({}); run fsck.chainfs", why2);
      return -EUCLEAN;
    }
    *sb = jsb;
  }
  std::vector<BlockImage> images;
  images.reserve(rec.images.size());
  for (auto& [home, img] : rec.images) {
    if (home >= sb->block_count) {
      *msg = fmt::format("journal names block {} outside the filesystem; run fsck.chainfs", home);
      return -EUCLEAN;
    }
    images.push_back({home, img});
  }
  if (read_only_) {
    // Nothing is written: the replayed blocks live in the cache's committed set, which
    // every read consults before the device.
    vol_.cache.add_committed(images);
    return 0;
  }
  if ((r = vol_.cache.write_home(std::move(images))) < 0 || (r = dev.flush()) < 0 || (r = journal_->reset()) < 0) {
    *msg = fmt::format("journal replay failed: {}", std::strerror(-r));
    return r;
  }
  return 0;
}

int FilesystemImpl::write_super_in_place(bool recover) {
  mem::AlignedBuffer buf(kBlockSize);
  uint64_t backup = 0;
  {
    base::MutexLock g(vol_.sb_mu);
    if (recover) {
      vol_.sb.incompat |= format::kIncompatRecover;
      vol_.sb.state = format::kStateMounted;  // what fsck and a reader of the device see while mounted
    } else
      vol_.sb.incompat &= ~format::kIncompatRecover;
    format::encode_superblock(vol_.sb, buf.data());
    backup = vol_.sb.backup_block();
  }
  io::Device& dev = vol_.dev();
  int r = dev.write(backup * kBlockSize, buf.data(), kBlockSize);
  if (r == 0) r = dev.write(0, buf.data(), kBlockSize);
  if (r == 0) r = dev.flush();
  return r;
}

void FilesystemImpl::publish_journal_stats() {
  auto js = journal_->stats();
  BlockCache* cache = &vol_.cache;  // outlives the data path that calls this
  vol_.data().add_stats("journal", [js, cache] {
    auto avg_kib = [](uint64_t bytes, uint64_t reqs) { return reqs ? static_cast<double>(bytes) / 1024.0 / static_cast<double>(reqs) : 0.0; };
    uint64_t wr = js->write_requests.load(), wb = js->write_bytes.load();
    uint64_t hr = cache->home_write_requests(), hb = cache->home_write_bytes();
    return nlohmann::json{{"commits", js->commits.load()},
                          {"blocks_committed", js->blocks.load()},
                          {"checkpoints", js->resets.load()},
                          {"write_requests", wr},
                          {"write_bytes", wb},
                          {"avg_write_kib", avg_kib(wb, wr)},
                          {"log_buffers", js->log_buffers.load()},
                          {"contiguous_log_buffers", js->contiguous_log_buffers.load()},
                          {"checkpoint_requests", hr},
                          {"checkpoint_bytes", hb},
                          {"avg_checkpoint_kib", avg_kib(hb, hr)}};
  });
}

int FilesystemImpl::set_read_only(bool ro) {
  base::MutexLock g(sync_mu_);
  if (ro == read_only_) return 0;
  if (ro) {
    // As a clean unmount: everything home, the journal empty, no recovery needed.
    int r = write_back(true, true);
    if (r == 0) r = write_super_in_place(false);
    if (r < 0) return r;
    read_only_ = true;
    return 0;
  }
  bool journalled = false;
  {
    base::MutexLock sg(vol_.sb_mu);
    if (!journal_) open_journal(vol_.sb);
    journalled = vol_.sb.compat & format::kCompatJournal;
  }
  // A read-only mount may hold a journal replayed in memory: it goes home first.
  int r = journalled ? checkpoint_locked() : journal_->create();
  if (r == 0) {
    base::MutexLock sg(vol_.sb_mu);
    vol_.sb.compat |= format::kCompatJournal;
  }
  if (r == 0) r = write_super_in_place(true);
  if (r < 0) return r;
  txn_limit_ = std::max<uint64_t>(journal_->capacity() / 2, 8);
  publish_journal_stats();
  read_only_ = false;
  return write_back(false);
}

int FilesystemImpl::unmount() {
  if (unmounted_.exchange(true)) return 0;
  {
    base::MutexLock l(flusher_mu_);
    stop_flusher_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (read_only_) return 0;
  // The kernel sends no forgets at unmount: every unlinked inode goes now.
  std::vector<InodeRef> all;
  {
    base::MutexLock g(map_mu_);
    for (auto& [ino, in] : map_) all.push_back(in);
  }
  for (auto& in : all) {
    base::WriterLock l(in->mu);
    if (!in->freed && in->disk.nlink == 0) free_inode_locked(*in);
  }
  base::MutexLock g(sync_mu_);
  int r = write_back(true, true);
  return r < 0 ? r : write_super_in_place(false);
}

Result<FsStat> FilesystemImpl::statfs() {
  FsStat s;
  s.blocks = vol_.block_count();
  s.blocks_free = vol_.balloc.free_blocks();
  // Freed blocks not yet allocatable count as available: the next commit releases them,
  // and an allocation that needs them forces that commit (Op, write).
  s.blocks_avail = vol_.balloc.free_unreserved();
  s.files = vol_.ialloc.inode_count();
  s.files_free = vol_.ialloc.free_inodes();
  base::MutexLock g(vol_.sb_mu);
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = id << 8 | vol_.sb.uuid[static_cast<size_t>(i)];
  for (int i = 8; i < 16; ++i) id ^= uint64_t{vol_.sb.uuid[static_cast<size_t>(i)]} << (8 * (i - 8));
  s.fsid = id;
  return s;
}
int FilesystemImpl::writable() const { return read_only_ ? -EROFS : 0; }
Result<std::unique_ptr<Filesystem>> mount_filesystem(std::unique_ptr<io::Device> dev,
                                                     const MountOptions& opts, std::string* message) {
  std::string scratch;
  if (!message) message = &scratch;
  auto fs = std::make_unique<FilesystemImpl>(std::move(dev), opts);
  int r = fs->mount(message);
  if (r < 0) return Error{r};
  return std::unique_ptr<Filesystem>(std::move(fs));
}

}  // namespace chainfs::fs
