#pragma once
// Engine: how a mount's I/O reaches its device, built from the device and the engine
// options. It gives the device's asynchronous face (BioDevice), through which every request
// of the page cache and the metadata writer goes, whatever the write strategy; requests
// complete through that face's completion machinery (completion_thread.h), which wakes the
// waiters, and are counted there (stats()).
//  * A device with a bio face of its own (Device::bio_face: UringDevice, NbdDevice and the
//    wrappers over them) is used as it is, with the completion mode it was opened with.
//  * Any other device (SyncDevice for write_strategy=sync, MemDevice in tests) gets an
//    io::SyncBioDevice over it: each request runs inside submit() and completes inline,
//    and the waiters are woken when submit() returns.
//
// open_engine_device opens the device the options ask for, by name (named_device.h: a path
// or an NBD URI): a UringDevice when `async`, else a SyncDevice; an NBD URI always opens an
// NbdDevice (both faces; its request timeout is nbd_timeout_s).
#include <memory>
#include <string>

#include "io/bio_device.h"
#include "io/completion_thread.h"
#include "io/device.h"
#include "io/engine_options.h"
#include "io/io_stats.h"
#include "io/sync_bio_device.h"

namespace chainfs::io {

// 0 or -errno, as io::open_named_device; *error (if given) gets a detail line.
int open_engine_device(const std::string& name, const OpenOptions& oo, const EngineOptions& eo,
                       std::unique_ptr<Device>* out, std::string* error = nullptr);

class Engine {
 public:
  // REQUIRES: dev outlives the engine.
  Engine(Device& dev, const EngineOptions& opts);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  BioDevice& bio() { return *bio_; }
  IoStats& stats() { return bio_->stats(); }
  // Where completion work runs, for the statistics: the completion mode, or
  // "inline (synchronous device)" for a device without a bio face of its own.
  const char* completion_name() const;

 private:
  EngineOptions opts_;
  std::unique_ptr<SyncBioDevice> own_;  // set when dev has no bio face
  BioDevice* bio_ = nullptr;
};

}  // namespace chainfs::io
