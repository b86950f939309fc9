#pragma once
// EngineOptions: the I/O engine's settings (io/engine.h) and its mount options, declared once
// here (base/option_table.h): completion= and nbd_timeout=.
#include "base/option_table.h"
#include "io/completion_thread.h"

namespace chainfs::io {

struct EngineOptions {
  // Paths: a UringDevice (true) or a SyncDevice (false); set by the page cache's write
  // strategy (write_strategy=sync is the synchronous baseline), not an option of its own.
  bool async = true;
  CompletionMode completion = CompletionMode::kThread;  // UringDevice, NbdDevice
  unsigned nbd_timeout_s = 30;                          // NbdDevice: request timeout
};

const base::OptionTable<EngineOptions>& engine_option_table();

}  // namespace chainfs::io
