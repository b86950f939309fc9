// Write-back of FilesystemImpl: the periodic flusher, the ordered commit of data then
// metadata, the checkpoint, and sync.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fs/format/superblock.h"
#include "fs/meta/fs_impl.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fs {


void FilesystemImpl::flusher_loop() {
  base::MutexLock l(flusher_mu_);
  while (!stop_flusher_) {
    // The flush_interval timer; stopping wakes it at once.
    flusher_cv_.wait_for(flusher_mu_, std::chrono::seconds(std::max(1u, opts_.flush_interval_s)));
    if (stop_flusher_) break;
    l.unlock();
    {
      base::MutexLock g(sync_mu_);
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

void FilesystemImpl::make_room() {
  bool big = txn_limit_ && running_blocks() >= txn_limit_;
  // Freed blocks wait for their commit (allocator.h): when they are what is left, commit
  // and checkpoint so they can be allocated, before anyone gets ENOSPC.
  bool short_of_space = vol_.balloc.limbo_blocks() && vol_.balloc.available_blocks() < 256;
  if ((big || short_of_space) && !read_only_) {
    base::MutexLock g(sync_mu_);
    if (!read_only_) {
      int r = write_back(false, short_of_space);
      if (r < 0) spdlog::error("chainfs: write-back failed: {}", std::strerror(-r));
    }
  }
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
  base::WriterLock gate(txn_gate_);
  if (int e = pc.writeback_all(true, cache::Trigger::kSyncAll); e < 0 && !data_err) data_err = e;
  if (!data_errors) data_err = 0;
  std::vector<InodeRef> todo;
  std::vector<Ino> orphan_list;
  {
    base::MutexLock g(map_mu_);
    for (auto& [ino, in] : map_)
      if (in->dirty) todo.push_back(in);
  }
  {
    base::MutexLock g(orphan_mu_);
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
    base::ReaderLock l(in->mu);
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
    base::MutexLock g(vol_.sb_mu);
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
  // The map holds the only reference to such an inode, so its lock is free: try_lock
  // takes it without waiting, as the lock order (inode before map) requires.
  {
    base::MutexLock g(map_mu_);
    for (auto it = map_.begin(); it != map_.end();) {
      Inode& in = *it->second;
      bool evict = false;
      if (it->second.use_count() == 1 && !in.dirty && in.nlookup == 0 && in.nopen == 0 &&
          in.mu.try_lock_shared()) {
        evict = in.disk.nlink > 0;
        in.mu.unlock_shared();
      }
      it = evict ? map_.erase(it) : std::next(it);
    }
  }
  return first_err ? first_err : data_err;
}

int FilesystemImpl::sync() {
  base::MutexLock g(sync_mu_);
  if (read_only_) return 0;
  return write_back(false);
}

int FilesystemImpl::reclaim() {
  base::MutexLock g(sync_mu_);
  if (read_only_) return 0;
  return write_back(false, true);
}

}  // namespace chainfs::fs
