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
  vol_.set_geometry(sb.data_start, sb.block_count);
  vol_.inode_table_start = sb.inode_table_start;
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

void FilesystemImpl::flusher_loop() {
  std::unique_lock l(flusher_mu_);
  while (!stop_flusher_) {
    flusher_cv_.wait_for(l, std::chrono::seconds(std::max(1u, opts_.flush_interval_s)));
    if (stop_flusher_) break;
    l.unlock();
    {
      std::lock_guard g(sync_mu_);
      int r = read_only_ ? 0 : write_back(false);
      if (r < 0) spdlog::error("chainfs: periodic write-back failed: {}", std::strerror(-r));
    }
    l.lock();
  }
}

int FilesystemImpl::write_back(bool clean_state) {
  // Ordered mode (as ext4's data=ordered): file data before the metadata that maps it, so a
  // crash never leaves metadata pointing at blocks whose data was not written.
  // 0. every dirty data page, written and waited for: first without stopping writers (the
  //    bulk), then again with data_gate_ held so no write allocates a block (or turns an
  //    unwritten extent into a written one) until the metadata below is on the device;
  //    a device flush when data reached the device since the last flush, so the data is
  //    durable before any metadata that points at it;
  // 1. inode records (orphans carry their list links), 2. bitmaps, 3. superblocks,
  // 4. every dirty cached block, 5. device flush, 6. freed metadata blocks reusable.
  cache::PageCache& pc = vol_.pages();
  int data_err = pc.writeback_all(true, cache::Trigger::kSyncAll);
  std::unique_lock gate(data_gate_);
  if (int e = pc.writeback_all(true, cache::Trigger::kSyncAll); e < 0 && !data_err) data_err = e;
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
  if (todo.empty() && !vol_.balloc.has_dirty() && !vol_.ialloc.has_dirty() && !vol_.balloc.has_pending() &&
      vol_.cache.dirty_count() == 0 && orphan_list == written_orphans_ && state_written_ == want_state)
    return data_err;  // no metadata changed since the last write-back
  int first_err = 0;
  if (uint64_t w = vol_.data().data_writes(); w != flushed_data_writes_) {
    first_err = vol_.dev().flush();
    if (first_err == 0) flushed_data_writes_ = w;
    if (first_err < 0) return first_err;  // no metadata may go ahead of data not known durable
  }
  for (Ino o : orphan_list) {
    auto in = get(o);
    if (in) todo.push_back(*in);
  }
  for (auto& in : todo) {
    std::shared_lock l(in->mu);
    if (in->freed) continue;
    in->dirty = false;
    format::DiskInode d = in->disk;
    auto it = next_orphan.find(in->ino);
    d.orphan_next = it == next_orphan.end() ? 0 : it->second;
    int r = vol_.store_inode(in->ino, d);
    if (r < 0 && !first_err) first_err = r;
  }
  vol_.balloc.write_back(vol_.cache);
  vol_.ialloc.write_back(vol_.cache);
  auto pending = vol_.balloc.take_pending();
  {
    std::lock_guard g(vol_.sb_mu);
    format::Superblock& sb = vol_.sb;
    sb.orphan_head = orphan_list.empty() ? 0 : orphan_list.front();
    sb.free_blocks = vol_.balloc.free_blocks();
    sb.free_inodes = vol_.ialloc.free_inodes();
    sb.last_write_time = ::time(nullptr);
    sb.state = clean_state ? format::kStateClean : format::kStateMounted;
    mem::AlignedBuffer buf(kBlockSize);
    format::encode_superblock(sb, buf.data());
    vol_.cache.write(0, buf.data());
    vol_.cache.write(sb.backup_block(), buf.data());
  }
  int r = vol_.cache.flush_dirty();
  if (r < 0 && !first_err) first_err = r;
  uint64_t written = vol_.data().data_writes();  // all written before this flush (gate held)
  r = vol_.dev().flush();
  if (r < 0 && !first_err) first_err = r;
  if (r == 0) flushed_data_writes_ = written;
  if (first_err == 0) {
    state_written_ = want_state;
    written_orphans_ = orphan_list;
  }
  if (first_err == 0)
    vol_.balloc.release(pending);
  else
    for (uint64_t b : pending) vol_.balloc.free_deferred(b);
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

int FilesystemImpl::set_read_only(bool ro) {
  std::lock_guard g(sync_mu_);
  if (ro == read_only_) return 0;
  if (ro) {
    // Twice: metadata blocks freed before the first pass become free in the bitmap only
    // after it (see BlockAllocator::free_deferred).
    int r = write_back(true);
    if (r == 0) r = write_back(true);
    if (r < 0) return r;
    read_only_ = true;
    return 0;
  }
  read_only_ = false;
  return write_back(false);
}

int FilesystemImpl::unmount() {
  if (unmounted_) return 0;
  unmounted_ = true;
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
  int r = write_back(true);
  return r < 0 ? r : write_back(true);  // twice: see set_read_only()
}

Result<FsStat> FilesystemImpl::statfs() {
  FsStat s;
  s.blocks = vol_.block_count();
  s.blocks_free = vol_.balloc.free_blocks();
  s.blocks_avail = vol_.balloc.available_blocks();
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
  in.dirty = false;
  format::DiskInode zero;
  zero.generation = d.generation;
  vol_.store_inode(in.ino, zero);
  vol_.ialloc.free(in.ino);
  set_orphan(in.ino, false);
}

void FilesystemImpl::maybe_free(const InodeRef& in) {
  {
    std::lock_guard g(map_mu_);
    if (in->nlookup || in->nopen || in->freed) return;
  }
  std::unique_lock l(in->mu);
  if (in->disk.nlink != 0 || in->freed || read_only_) return;
  {
    std::lock_guard g(map_mu_);
    if (in->nlookup || in->nopen) return;
  }
  // No name and no reference: nobody can reach it any more.
  free_inode_locked(*in);
  std::lock_guard g(map_mu_);
  auto it = map_.find(in->ino);
  if (it != map_.end() && it->second == in) map_.erase(it);
}

void FilesystemImpl::forget(Ino ino, uint64_t nlookup) {
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
