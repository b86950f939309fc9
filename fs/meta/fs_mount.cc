// Mounting, write-back, unmount and inode lifetime of FilesystemImpl.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fs/format/superblock.h"
#include "fs/meta/directory.h"
#include "fs/meta/extent_map.h"
#include "fs/meta/fs_impl.h"
#include "fs/meta/xattr_store.h"
#include "fs/meta/time_util.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fs {

using format::kBlockSize;

FilesystemImpl::FilesystemImpl(std::unique_ptr<io::Device> dev, const MountOptions& opts)
    : vol_(std::move(dev)), opts_(opts) {
  read_only_ = opts.read_only;
  vol_.start_data_path(opts);
}

FilesystemImpl::~FilesystemImpl() {
  if (!unmounted_) unmount();
}

int FilesystemImpl::mount(std::string* msg) {
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
    std::lock_guard g(vol_.sb_mu);
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
      std::lock_guard g(vol_.sb_mu);
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
      uint64_t next = (*in)->disk.orphan_next;
      {
        std::unique_lock l((*in)->mu);
        if ((*in)->disk.nlink == 0) free_inode_locked(**in);
      }
      {
        std::lock_guard g(map_mu_);
        map_.erase(ino);
      }
      ino = next;
    }
    std::lock_guard g(vol_.sb_mu);
    vol_.sb.orphan_head = 0;
    vol_.sb.state = format::kStateMounted;
    vol_.sb.mount_count++;
    vol_.sb.last_mount_time = ::time(nullptr);
  }
  if (!read_only_) {
    std::lock_guard g(sync_mu_);
    r = write_back(false);
    if (r < 0) {
      *msg = fmt::format("cannot write the superblock: {}", std::strerror(-r));
      return r;
    }
  }
  flusher_ = std::thread([this] { flusher_loop(); });
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
    std::lock_guard g(vol_.sb_mu);
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

void FilesystemImpl::flusher_loop() {
  std::unique_lock l(flusher_mu_);
  while (!stop_flusher_) {
    // The flush_interval timer; stopping wakes it at once.
    flusher_cv_.wait_for(l, std::chrono::seconds(std::max(1u, opts_.flush_interval_s)));
    if (stop_flusher_) break;
    l.unlock();
    {
      std::lock_guard g(sync_mu_);
      // The filesystem's one periodic flusher: file data, then the commit of the metadata
      // that maps it; the checkpoint too once the journal is half full, so that commits
      // seldom have to wait for one.
      bool ckpt = journal_ && journal_->used() * 2 > journal_->region_blocks();
      int r = read_only_ ? 0 : write_back(false, ckpt, true, cache::Trigger::kTimer);
      if (r < 0) spdlog::error("chainfs: periodic write-back failed: {}", std::strerror(-r));
    }
    l.lock();
  }
}

uint64_t FilesystemImpl::running_blocks() const {
  // Inode records (at most one table block each), bitmaps, both superblocks.
  return vol_.cache.dirty_count() + dirty_inodes_.load(std::memory_order_relaxed) + 4;
}

std::shared_lock<std::shared_mutex> FilesystemImpl::begin_op() {
  bool big = txn_limit_ && running_blocks() >= txn_limit_;
  // Freed blocks wait for their commit (allocator.h): when they are what is left, commit
  // and checkpoint so they can be allocated, before anyone gets ENOSPC.
  bool short_of_space = vol_.balloc.limbo_blocks() && vol_.balloc.available_blocks() < 256;
  if ((big || short_of_space) && !read_only_) {
    std::lock_guard g(sync_mu_);
    if (!read_only_) {
      int r = write_back(false, short_of_space);
      if (r < 0) spdlog::error("chainfs: write-back failed: {}", std::strerror(-r));
    }
  }
  return std::shared_lock(txn_gate_);
}

void FilesystemImpl::release_committed(const std::vector<BlockRange>& freed) {
  if (freed.empty()) return;
  if (vol_.cache.committed_count() == 0) {
    vol_.balloc.release(freed);
    return;
  }
  // A block with an image in a live transaction: a replay after a crash would write
  // that image over whatever reused the block. It waits for the checkpoint.
  std::vector<BlockRange> now;
  for (const BlockRange& r : freed) {
    bool held = r.len > 4096;  // large ranges: not worth checking block by block
    for (uint64_t b = r.start; !held && b < r.start + r.len; ++b) held = vol_.cache.awaiting_checkpoint(b);
    (held ? after_checkpoint_ : now).push_back(r);
  }
  vol_.balloc.release(now);
}

int FilesystemImpl::checkpoint_locked() {
  if (!journal_ || (journal_->empty() && vol_.cache.committed_count() == 0)) return 0;
  int r = vol_.cache.checkpoint();
  if (r == 0) r = vol_.dev().flush();
  if (r == 0) r = journal_->reset();
  if (r < 0) return r;
  vol_.cache.checkpoint_done();
  vol_.balloc.release(after_checkpoint_);
  after_checkpoint_.clear();
  return 0;
}

int FilesystemImpl::write_back(bool clean_state, bool checkpoint, bool data_errors, cache::Trigger data_why) {
  // Ordered mode (as ext4's data=ordered): file data before the metadata that maps it, so a
  // crash never leaves metadata pointing at blocks whose data was not written.
  // 0. every dirty data page, written and waited for: first without stopping operations
  //    (the bulk), then again with txn_gate_ held exclusively, so no operation is half
  //    done and no write allocates a block (or turns an unwritten extent into a written
  //    one) until the transaction's blocks are taken;
  // 1. inode records (orphans carry their list links), 2. bitmaps, 3. superblocks into
  //    the cache; 4. the transaction = every dirty cached block; the gate is released;
  // 5. the commit: journal blocks, flush (the data too is durable now), commit block,
  //    flush; 6. freed blocks become allocatable (allocator.h); 7. checkpoint when asked
  //    or when the journal has no room.
  cache::PageCache& pc = vol_.pages();
  int data_err = pc.writeback_all(true, data_why);
  std::unique_lock gate(txn_gate_);
  if (int e = pc.writeback_all(true, cache::Trigger::kSyncAll); e < 0 && !data_err) data_err = e;
  if (!data_errors) data_err = 0;
  std::vector<InodeRef> todo;
  std::vector<Ino> orphan_list;
  {
    std::lock_guard g(map_mu_);
    for (auto& [ino, in] : map_)
      if (in->dirty) todo.push_back(in);
  }
  {
    std::lock_guard g(orphan_mu_);
    orphan_list.assign(orphans_.begin(), orphans_.end());
  }
  std::unordered_map<Ino, Ino> next_orphan;
  for (size_t i = 0; i < orphan_list.size(); ++i)
    next_orphan[orphan_list[i]] = i + 1 < orphan_list.size() ? orphan_list[i + 1] : 0;
  uint32_t want_state = clean_state ? format::kStateClean : format::kStateMounted;
  if (todo.empty() && !vol_.balloc.has_dirty() && !vol_.ialloc.has_dirty() && !vol_.balloc.has_freed() &&
      vol_.cache.dirty_count() == 0 && orphan_list == written_orphans_ && state_written_ == want_state) {
    // No metadata changed since the last commit; data may have.
    uint64_t w = vol_.data().data_writes();
    gate.unlock();
    int r = 0;
    if (w != flushed_data_writes_ && (r = vol_.dev().flush()) == 0) flushed_data_writes_ = w;
    if (r == 0 && checkpoint) r = checkpoint_locked();
    return r < 0 ? r : data_err;
  }
  int first_err = 0;
  for (Ino o : orphan_list) {
    auto in = get(o);
    if (in) todo.push_back(*in);
  }
  for (auto& in : todo) {
    std::shared_lock l(in->mu);
    if (in->freed) continue;
    clear_dirty(*in);
    format::DiskInode d = in->disk;
    auto it = next_orphan.find(in->ino);
    d.orphan_next = it == next_orphan.end() ? 0 : it->second;
    int r = vol_.store_inode(in->ino, d);
    if (r < 0 && !first_err) first_err = r;
  }
  vol_.balloc.write_back(vol_.cache);
  vol_.ialloc.write_back(vol_.cache);
  {
    std::lock_guard g(vol_.sb_mu);
    format::Superblock& sb = vol_.sb;
    sb.orphan_head = orphan_list.empty() ? 0 : orphan_list.front();
    sb.free_blocks = vol_.balloc.free_blocks();
    sb.free_inodes = vol_.ialloc.free_inodes();
    sb.last_write_time = ::time(nullptr);
    sb.state = want_state;
    mem::AlignedBuffer buf(kBlockSize);
    format::encode_superblock(sb, buf.data());
    vol_.cache.write(0, buf.data());
    vol_.cache.write(sb.backup_block(), buf.data());
  }
  std::vector<BlockImage> txn = vol_.cache.take_dirty();
  std::vector<BlockRange> freed = vol_.balloc.take_freed();
  const uint64_t written = vol_.data().data_writes();  // every data write the transaction maps
  gate.unlock();

  int r = 0;
  if (journal_ && !journal_->fits(txn.size())) r = checkpoint_locked();
  if (r == 0 && journal_ && journal_->fits(txn.size())) {
    r = journal_->commit(txn);
    if (r == 0) vol_.cache.add_committed(txn);
  } else if (r == 0) {
    // No journal (an old filesystem mounted read-only and switched to read-write, which
    // cannot happen with a journal), or one transaction larger than the whole journal:
    // the blocks go home directly, data first. Not atomic across a crash.
    if (journal_ && !warned_big_txn_) {
      spdlog::warn("chainfs: a transaction of {} blocks exceeds the journal ({} blocks): written in place",
                   txn.size(), journal_->region_blocks());
      warned_big_txn_ = true;
    }
    if (written != flushed_data_writes_) r = vol_.dev().flush();
    if (r == 0) r = vol_.cache.write_home(txn);
    if (r == 0) r = vol_.dev().flush();
  }
  if (r < 0) {
    // Nothing of the transaction counts: its blocks and frees join the next one.
    vol_.cache.redirty(txn);
    vol_.balloc.give_back_freed(freed);
    return r;
  }
  flushed_data_writes_ = written;
  release_committed(freed);
  if (first_err == 0) {
    state_written_ = want_state;
    written_orphans_ = orphan_list;
  }
  if (checkpoint && (r = checkpoint_locked()) < 0 && !first_err) first_err = r;
  // Evict clean, unreferenced inodes so the map does not grow with every inode touched.
  {
    std::lock_guard g(map_mu_);
    for (auto it = map_.begin(); it != map_.end();) {
      Inode& in = *it->second;
      if (it->second.use_count() == 1 && !in.dirty && in.nlookup == 0 && in.nopen == 0 &&
          in.disk.nlink > 0)
        it = map_.erase(it);
      else
        ++it;
    }
  }
  return first_err ? first_err : data_err;
}

int FilesystemImpl::sync() {
  std::lock_guard g(sync_mu_);
  if (read_only_) return 0;
  return write_back(false);
}

int FilesystemImpl::reclaim() {
  std::lock_guard g(sync_mu_);
  if (read_only_) return 0;
  return write_back(false, true);
}

int FilesystemImpl::set_read_only(bool ro) {
  std::lock_guard g(sync_mu_);
  if (ro == read_only_) return 0;
  if (ro) {
    // As a clean unmount: everything home, the journal empty, no recovery needed.
    int r = write_back(true, true);
    if (r == 0) r = write_super_in_place(false);
    if (r < 0) return r;
    read_only_ = true;
    return 0;
  }
  if (!journal_) {
    std::lock_guard sg(vol_.sb_mu);
    open_journal(vol_.sb);
  }
  // A read-only mount may hold a journal replayed in memory: it goes home first.
  int r = (vol_.sb.compat & format::kCompatJournal) ? checkpoint_locked() : journal_->create();
  if (r == 0) {
    std::lock_guard sg(vol_.sb_mu);
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
    std::lock_guard l(flusher_mu_);
    stop_flusher_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (read_only_) return 0;
  // The kernel sends no forgets at unmount: every unlinked inode goes now.
  std::vector<InodeRef> all;
  {
    std::lock_guard g(map_mu_);
    for (auto& [ino, in] : map_) all.push_back(in);
  }
  for (auto& in : all) {
    std::unique_lock l(in->mu);
    if (!in->freed && in->disk.nlink == 0) free_inode_locked(*in);
  }
  std::lock_guard g(sync_mu_);
  int r = write_back(true, true);
  return r < 0 ? r : write_super_in_place(false);
}

Result<FsStat> FilesystemImpl::statfs() {
  FsStat s;
  s.blocks = vol_.block_count();
  s.blocks_free = vol_.balloc.free_blocks();
  // Freed blocks not yet allocatable count as available: the next commit releases them,
  // and an allocation that needs them forces that commit (begin_op, write).
  s.blocks_avail = vol_.balloc.free_unreserved();
  s.files = vol_.ialloc.inode_count();
  s.files_free = vol_.ialloc.free_inodes();
  std::lock_guard g(vol_.sb_mu);
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = id << 8 | vol_.sb.uuid[static_cast<size_t>(i)];
  for (int i = 8; i < 16; ++i) id ^= uint64_t{vol_.sb.uuid[static_cast<size_t>(i)]} << (8 * (i - 8));
  s.fsid = id;
  return s;
}

Result<FilesystemImpl::InodeRef> FilesystemImpl::get(Ino ino) {
  {
    std::lock_guard g(map_mu_);
    auto it = map_.find(ino);
    if (it != map_.end()) {
      if (it->second->freed) return Error{-ENOENT};
      return it->second;
    }
  }
  if (ino < 1 || ino > vol_.ialloc.inode_count() || !vol_.ialloc.in_use(ino)) return Error{-ENOENT};
  auto in = std::make_shared<Inode>(ino);
  int r = vol_.load_inode(ino, &in->disk);
  if (r < 0) return Error{r};
  std::lock_guard g(map_mu_);
  auto [it, inserted] = map_.emplace(ino, in);
  if (it->second->freed) return Error{-ENOENT};
  return it->second;
}

Attr FilesystemImpl::attr_of(const Inode& in) const {
  const format::DiskInode& d = in.disk;
  Attr a;
  a.ino = in.ino;
  a.generation = d.generation;
  a.mode = d.mode;
  a.nlink = d.nlink;
  a.uid = d.uid;
  a.gid = d.gid;
  a.rdev = d.rdev;
  a.size = (d.mode & S_IFMT) == S_IFDIR ? kBlockSize * std::max<uint64_t>(1, d.blocks) : d.size;
  a.blocks = d.blocks * (kBlockSize / 512);
  a.atime = to_timespec(d.atime);
  a.mtime = to_timespec(d.mtime);
  a.ctime = to_timespec(d.ctime);
  a.btime = to_timespec(d.btime);
  return a;
}

void FilesystemImpl::add_lookup(const InodeRef& in) {
  std::lock_guard g(map_mu_);
  ++in->nlookup;
}

void FilesystemImpl::set_orphan(Ino ino, bool on) {
  std::lock_guard g(orphan_mu_);
  if (on)
    orphans_.insert(ino);
  else
    orphans_.erase(ino);
}

void FilesystemImpl::free_inode_locked(Inode& in) {
  format::DiskInode& d = in.disk;
  // Its cached pages go (and their writeback is waited for) before its blocks are freed.
  if (in.is_reg()) vol_.pages().forget(in.ino);
  if (in.is_dir()) {
    Directory(vol_, in.ino, d).destroy();
  } else if (!(d.flags & format::kInodeInlineData)) {
    ExtentMap(vol_, in.ino, d).destroy();
  }
  XattrStore(vol_, in.ino, d).free_chain();
  in.freed = true;
  clear_dirty(in);
  format::DiskInode zero;
  zero.generation = d.generation;
  vol_.store_inode(in.ino, zero);
  vol_.ialloc.free(in.ino);
  set_orphan(in.ino, false);
}

void FilesystemImpl::maybe_free(const InodeRef& in) {
  {
    std::lock_guard g(map_mu_);
    if (in->nopen || in->freed) return;
  }
  {
    // The common case, a linked file's last close or forget: no exclusive lock, so it
    // never waits behind the file's readers.
    std::shared_lock s(in->mu);
    if (in->disk.nlink != 0) return;
  }
  std::unique_lock l(in->mu);
  if (in->disk.nlink != 0 || in->freed || read_only_) return;
  bool looked_up = false;
  {
    std::lock_guard g(map_mu_);
    if (in->nopen) return;
    looked_up = in->nlookup != 0;
  }
  if (looked_up) {
    // No name and no open file: the data can never be read again, so its blocks are free
    // now, as on ext4, not when the kernel gets round to FORGET (after a df, say). The
    // record stays, an orphan of size 0, until then.
    format::DiskInode& d = in->disk;
    if (in->is_reg() && !(d.flags & format::kInodeInlineData) && (d.size || d.blocks)) {
      vol_.pages().forget(in->ino);
      if (int r = ExtentMap(vol_, in->ino, d).destroy(); r < 0)
        spdlog::warn("chainfs: inode {}: freeing the blocks of an unlinked file failed: {}", in->ino, std::strerror(-r));
      d.size = 0;
      mark_dirty(*in);
    }
    return;
  }
  // No name and no reference: nobody can reach it any more.
  free_inode_locked(*in);
  std::lock_guard g(map_mu_);
  auto it = map_.find(in->ino);
  if (it != map_.end() && it->second == in) map_.erase(it);
}

void FilesystemImpl::forget(Ino ino, uint64_t nlookup) {
  // A fuseblk mount unmounts in DESTROY, which a forget on another thread may overtake.
  if (unmounted_) return;
  auto op = begin_op();
  if (unmounted_) return;
  InodeRef in;
  {
    std::lock_guard g(map_mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return;
    in = it->second;
    in->nlookup -= std::min(in->nlookup, nlookup);
  }
  maybe_free(in);
}

int FilesystemImpl::open(Ino ino) {
  auto in = get(ino);
  if (!in) return in.err();
  std::lock_guard g(map_mu_);
  ++(*in)->nopen;
  return 0;
}

void FilesystemImpl::release(Ino ino) {
  auto op = begin_op();
  InodeRef in;
  {
    std::lock_guard g(map_mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return;
    in = it->second;
    if (in->nopen) --in->nopen;
  }
  maybe_free(in);
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
