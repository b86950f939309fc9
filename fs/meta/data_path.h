#pragma once
// DataPath: the engine file data goes through, built at mount from MountOptions (see
// fs/cache/INTEGRATION.md): the page pool, the page cache over the volume's device, and the
// statistics file. The device's asynchronous face is the device itself when it is an
// io::BioDevice (UringDevice), else an io::SyncBioDevice over it (SyncDevice, MemDevice in
// tests): file data always goes through the page cache. That adapter's wait_until() also
// re-checks its condition every millisecond: the cache's write-through path
// (write_strategy=sync) ends page writeback without a bio, so no completion wakes a waiter
// (a flusher waiting for such a page would otherwise sleep for ever).
//
// Destruction order (members in reverse): the statistics file's final write, the cache
// (writes back whatever is still dirty), the pool, then the adapter; the device outlives all.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fs/cache/page_cache.h"
#include "fs/cache/stats_writer.h"
#include "fs/meta/filesystem.h"
#include "io/device.h"
#include "io/sync_bio_device.h"
#include "mem/page_pool.h"

namespace chainfs::fs {

inline constexpr uint64_t kDefaultCacheBytes = uint64_t{256} << 20;

// io::SyncBioDevice whose waits also poll (see above).
class PollingSyncBioDevice final : public io::BioDevice {
 public:
  explicit PollingSyncBioDevice(io::Device& dev) : inner_(dev) {}
  const io::QueueLimits& limits() const override { return inner_.limits(); }
  using io::BioDevice::submit;
  void submit(io::Bio* const* bios, size_t n) override;
  void wait_until(const std::function<bool()>& done) override;
  uint32_t in_flight() const override { return inner_.in_flight(); }
  io::IoStats& stats() override { return inner_.stats(); }

 private:
  io::SyncBioDevice inner_;
  std::mutex mu_;
  std::condition_variable cv_;
};

class DataPath {
 public:
  DataPath(io::Device& dev, const MountOptions& opts);
  ~DataPath();
  DataPath(const DataPath&) = delete;
  DataPath& operator=(const DataPath&) = delete;

  cache::PageCache& pages() { return *pages_; }
  io::BioDevice& bio_device() { return *bdev_; }
  // Pages written to the device so far (writeback completions and write-through writes):
  // the write-back uses it to skip the ordering flush when no data reached the device.
  uint64_t data_writes() const;
  // Adds a section to the statistics JSON (the metadata layer's journal, say); fn may be
  // called from the statistics thread until the DataPath is gone.
  void add_stats(std::string key, std::function<nlohmann::json()> fn);

 private:
  std::unique_ptr<PollingSyncBioDevice> own_bdev_;
  io::BioDevice* bdev_ = nullptr;
  std::unique_ptr<mem::PagePool> pool_;
  std::unique_ptr<cache::PageCache> pages_;
  std::mutex extra_mu_;
  std::map<std::string, std::function<nlohmann::json()>> extra_;  // guarded by extra_mu_
  std::unique_ptr<cache::StatsWriter> stats_;
};

}  // namespace chainfs::fs
