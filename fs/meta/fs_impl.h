#pragma once
// FilesystemImpl: fs::Filesystem over the chainfs v1 format.
//
// Locks, in the order they are taken (a lock is never taken while holding one that
// comes after it):
//   0. sync_mu_              one write-back (commit, checkpoint) at a time; taken with no
//                            other lock held; it guards the journal
//   1. txn_gate_             the transaction boundary: every operation that changes
//                            metadata holds it shared from its first change to its last
//                            (an Op); the write-back holds it exclusively while it
//                            writes the last data and takes the transaction's blocks, so
//                            a transaction holds whole operations only (all or nothing
//                            after a crash) and maps no block whose data is not written
//      rename_mu_            every rename (as ext4's s_vfs_rename_mutex), after txn_gate_;
//                            parent fields of directories change only under it
//   2. Inode::mu             per inode; for two or more inodes: ancestor directory before
//                            descendant (a parent before its entries); two unrelated
//                            directories in inode-number order (only rename, under 1.)
//   4. map_mu_               the in-memory inode map and lookup/open counts
//   5. orphan_mu_            the set of orphans
//   6. allocator locks, Volume::sb_mu, block-cache locks (leaves)
// Reads and writes of different files share nothing above the allocator and cache.
#include <memory>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/shared_mutex.h"
#include "base/thread_annotations.h"
#include "fs/meta/filesystem.h"
#include "fs/meta/inode.h"
#include "fs/meta/journal.h"
#include "fs/meta/volume.h"

namespace chainfs::fs {

class FilesystemImpl final : public Filesystem {
 public:
  FilesystemImpl(std::unique_ptr<io::Device> dev, const MountOptions& opts);
  ~FilesystemImpl() override;

  // Reads the superblock (or its backup), allocators, orphans, then starts the flusher.
  // 0 or -errno with *msg.
  int mount(std::string* msg) EXCLUDES(sync_mu_);

  bool was_unclean() const override { return was_unclean_; }
  uint64_t recovered_transactions() const override { return recovered_; }
  Result<FsStat> statfs() override;
  int sync() override EXCLUDES(sync_mu_);
  int set_read_only(bool ro) override EXCLUDES(sync_mu_);
  int unmount() override EXCLUDES(sync_mu_);
  void forget(Ino ino, uint64_t nlookup) override;
  Result<Attr> lookup(Ino parent, std::string_view name) override;
  Result<Attr> getattr(Ino ino) override;
  Result<Attr> setattr(Ino ino, const SetAttr& set) override;
  Result<Attr> mknod(const Caller& who, Ino parent, std::string_view name, uint32_t mode,
                     uint64_t rdev) override;
  Result<Attr> mkdir(const Caller& who, Ino parent, std::string_view name, uint32_t mode) override;
  Result<Attr> symlink(const Caller& who, Ino parent, std::string_view name,
                       std::string_view target) override;
  Result<Attr> tmpfile(const Caller& who, Ino dir, uint32_t mode) override;
  Result<Attr> link(Ino ino, Ino new_parent, std::string_view new_name) override;
  int unlink(Ino parent, std::string_view name) override;
  int rmdir(Ino parent, std::string_view name) override;
  int rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
             unsigned flags, const Caller& who) override;
  Result<std::string> readlink(Ino ino) override;
  int readdir(Ino dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& emit) override;
  int open(Ino ino) override;
  void release(Ino ino) override;
  Result<size_t> read(Ino ino, uint64_t off, size_t len, char* buf) override;
  bool read_sets_atime(Ino ino) override;
  Result<size_t> write(Ino ino, uint64_t off, const char* buf, size_t len) override;
  int fsync(Ino ino, bool datasync) override;
  int fsync_file(Ino ino, bool datasync, uint64_t* cursor) override;
  uint64_t write_error_cursor(Ino ino) override;
  int fallocate(Ino ino, int mode, uint64_t off, uint64_t len) override;
  Result<uint64_t> lseek(Ino ino, uint64_t off, int whence) override;
  using Filesystem::setxattr;
  int setxattr(Ino ino, std::string_view name, std::string_view value, int flags, bool drop_sgid) override;
  Result<size_t> getxattr(Ino ino, std::string_view name, char* buf, size_t size) override;
  Result<size_t> listxattr(Ino ino, char* buf, size_t size) override;
  int removexattr(Ino ino, std::string_view name) override;
  int access(const Caller& who, Ino ino, int mask) override;

  // For tests: blocks and inodes in use by the allocators, cached inode count.
  Volume& volume() { return vol_; }

 private:
  using InodeRef = std::shared_ptr<Inode>;

  Result<InodeRef> get(Ino ino);
  Attr attr_of(const Inode& in) const REQUIRES_SHARED(in.mu);
  void add_lookup(const InodeRef& in);
  // Frees the inode when it has no links and no references left; with no links and no
  // open file, but the kernel still holding the inode, frees its file data already.
  void maybe_free(const InodeRef& in);
  // Frees data, trees, xattrs and the inode number; caller holds in->mu exclusively.
  void free_inode_locked(Inode& in) REQUIRES(in.mu);
  Result<InodeRef> new_inode(const Caller& who, Inode& parent, uint32_t mode, uint64_t rdev)
      REQUIRES_SHARED(parent.mu);
  void drop_new_inode(const InodeRef& in);
  // A new inode (its mu held) in dir (mu held): the default ACL of dir becomes its access
  // ACL (and a directory's default ACL), or, without one, the umask applies.
  int inherit_acl(const Caller& who, Inode& dir, Inode& child) REQUIRES_SHARED(dir.mu) REQUIRES(child.mu);
  Result<Attr> create_entry(const Caller& who, Ino parent, std::string_view name, uint32_t mode,
                            uint64_t rdev, std::string_view symlink_target);
  int remove_entry(Ino parent, std::string_view name, bool dir);
  // Whether a read at t sets in's atime; caller holds in.mu (shared is enough).
  bool atime_due(const Inode& in, const format::Timespec& t) const REQUIRES_SHARED(in.mu);
  void touch_atime(const InodeRef& in);
  int writable() const;
  void set_orphan(Ino ino, bool on);
  // The inode's record changed (under its mu, exclusive); the write-back stores it.
  void mark_dirty(Inode& in) {
    if (!in.dirty.exchange(true)) dirty_inodes_.fetch_add(1, std::memory_order_relaxed);
  }
  void clear_dirty(Inode& in) {
    if (in.dirty.exchange(false)) dirty_inodes_.fetch_sub(1, std::memory_order_relaxed);
  }
  // An operation's part of the running transaction: txn_gate_ held shared for the scope.
  // Before it joins, the transaction is committed when it has grown to half the journal,
  // and committed and checkpointed when freed blocks waiting for a commit are what stands
  // between the operation and ENOSPC (make_room). unlock() and lock() leave the
  // transaction for a while and join it again.
  class SCOPED_CAPABILITY Op : public base::ReaderLock {
   public:
    explicit Op(FilesystemImpl& fs) ACQUIRE_SHARED(fs.txn_gate_) : ReaderLock((fs.make_room(), fs.txn_gate_)) {}
    ~Op() RELEASE() = default;
  };
  void make_room() EXCLUDES(sync_mu_, txn_gate_);
  // Blocks the running transaction would write at most, were it committed now.
  uint64_t running_blocks() const;
  // Commits the running transaction (sync_mu_ held): data, then the metadata through the
  // journal. clean_state records a clean filesystem. checkpoint also writes every
  // committed block home and empties the journal.
  // data_errors=false leaves the data write errors out of the result (fsync: they are
  // reported to their own files); data_why: what the data writeback is counted as in the
  // cache's statistics.
  int write_back(bool clean_state, bool checkpoint = false, bool data_errors = true,
                 cache::Trigger data_why = cache::Trigger::kSyncAll) REQUIRES(sync_mu_) EXCLUDES(txn_gate_);
  int checkpoint_locked() REQUIRES(sync_mu_);
  // mount() with sync_mu_ held: everything but starting the flusher.
  int mount_locked(std::string* msg) REQUIRES(sync_mu_);
  // journal_ becomes the journal the superblock describes, writing through the data path.
  void open_journal(const format::Superblock& sb) REQUIRES(sync_mu_);
  // Commit and checkpoint, so every freed block is allocatable (before ENOSPC).
  int reclaim() EXCLUDES(sync_mu_);
  // Writes the superblock in place (both copies, flushed), with or without the
  // needs-recovery flag.
  int write_super_in_place(bool recover) REQUIRES(sync_mu_);
  // Replays or loads the journal at mount; 0 or -errno with *msg.
  int recover_journal(format::Superblock* sb, std::string* msg) REQUIRES(sync_mu_);
  // Freed blocks whose transaction committed: allocatable now, or after the checkpoint
  // when the journal holds an image of one of them.
  void release_committed(const std::vector<BlockRange>& freed) REQUIRES(sync_mu_);
  // The journal's section of the statistics JSON (requests and their average size).
  void publish_journal_stats() REQUIRES(sync_mu_);
  // Whether directory anc is node or one of its ancestors: walks the parent fields, which
  // change only under rename_mu_.
  bool is_ancestor(Ino anc, Ino node) REQUIRES(rename_mu_);
  void flusher_loop() EXCLUDES(flusher_mu_, sync_mu_);

  Volume vol_;
  MountOptions opts_;
  std::atomic<bool> read_only_{false};
  bool was_unclean_ = false;
  uint64_t recovered_ = 0;
  std::atomic<bool> unmounted_{false};

  base::Mutex sync_mu_;
  uint32_t state_written_ GUARDED_BY(sync_mu_) = 0;
  uint64_t flushed_data_writes_ GUARDED_BY(sync_mu_) = 0;  // DataPath::data_writes() at the last flush
  base::SharedMutex txn_gate_ ACQUIRED_AFTER(sync_mu_);
  base::Mutex rename_mu_ ACQUIRED_AFTER(txn_gate_);
  std::vector<Ino> written_orphans_ GUARDED_BY(sync_mu_);
  std::unique_ptr<Journal> journal_ GUARDED_BY(sync_mu_);  // null: no journal (read-only, old image)
  std::vector<BlockRange> after_checkpoint_ GUARDED_BY(sync_mu_);  // freed, released at the next checkpoint
  // Commit early when a transaction reaches this many blocks; set under sync_mu_ before
  // operations run (mount, the switch to read-write), read by every operation.
  std::atomic<uint64_t> txn_limit_{0};
  bool warned_big_txn_ GUARDED_BY(sync_mu_) = false;
  std::atomic<uint64_t> dirty_inodes_{0};
  base::Mutex map_mu_;
  std::unordered_map<Ino, InodeRef> map_ GUARDED_BY(map_mu_);
  base::Mutex orphan_mu_ ACQUIRED_AFTER(map_mu_);
  std::set<Ino> orphans_ GUARDED_BY(orphan_mu_);

  base::Mutex flusher_mu_;
  base::CondVar flusher_cv_;
  bool stop_flusher_ GUARDED_BY(flusher_mu_) = false;
  std::thread flusher_;
};

}  // namespace chainfs::fs
