#include "tools/crashcheck/memory_run.h"

#include <fmt/format.h>

#include <cstring>

#include "fs/cache/engine_config.h"
#include "fs/meta/filesystem.h"
#include "io/borrowed_device.h"
#include "fs/meta/mkfs.h"
#include "io/mem_device.h"
#include "tools/crashcheck/fs_access.h"

namespace chainfs::crashcheck {

int record_memory_run(const MemoryRunOptions& o, MemoryRun* out, std::string* msg) {
  io::MemDevice dev(o.device_bytes);
  if (int r = fs::make_filesystem(dev, fs::MkfsOptions{}, msg); r < 0) return r;
  out->start_image = dev.bytes();
  auto log = std::make_shared<io::WriteLog>();
  if (!o.log_path.empty())
    if (int r = log->open_file(o.log_path, dev.limits().logical_block_size, dev.size_bytes()); r < 0) {
      *msg = fmt::format("cannot write {}: {}", o.log_path, std::strerror(-r));
      return r;
    }
  fs::MountOptions mo;
  auto engine = std::make_shared<cache::EngineConfig>();
  engine->pool.byte_cap = 8u << 20;
  engine->pool.kind = mem::PoolKind::kMalloc;
  mo.engine = engine;
  auto mounted = fs::mount_filesystem(io::make_recording_device(std::make_unique<io::BorrowedDevice>(dev), log), mo, msg);
  if (!mounted) {
    if (msg->empty()) *msg = std::string("mount: ") + std::strerror(-mounted.err());
    return mounted.err();
  }
  std::unique_ptr<fs::Filesystem> fsys = std::move(*mounted);
  {
    FsTarget t(*fsys, [log] { return log->size(); });
    out->record = DurabilityRecord{};
    out->workload_status = run_workload(t, o.workload, &out->record);
  }
  if (int r = fsys->unmount(); r < 0) {
    *msg = fmt::format("unmount after the workload: {}", std::strerror(-r));
    return r;
  }
  fsys.reset();
  out->log = log->entries();
  return 0;
}

}  // namespace chainfs::crashcheck
