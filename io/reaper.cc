#include "io/reaper.h"

#include <fmt/format.h>

#include <chrono>

#include "base/log.h"

namespace chainfs::io {

Reaper::~Reaper() { join(); }

void Reaper::start() { thread_ = std::thread([this] { loop(); }); }

void Reaper::join() {
  if (thread_.joinable()) thread_.join();
}

void Reaper::loop() {
  struct io_uring_cqe* cqes[kBatch];
  Cqe batch[kBatch];
  bool reported = false;
  for (;;) {
    struct io_uring_cqe* first = nullptr;
    int r = ring_.wait_cqe(&first);
    if (r < 0) {
      // Requests in flight can only finish through this loop, so leaving would hang their
      // waiters: report once, retry, and give up only when asked to stop.
      if (!reported) base::log(base::LogLevel::kError, fmt::format("io_uring wait failed: {}", r));
      reported = true;
      if (stop_.load(std::memory_order_acquire)) return;
      // A back-off between retries of a failed wait, not a poll for completions: when the
      // wait itself fails nothing can wake this thread, and the pause keeps a broken ring
      // from spinning a core.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    unsigned n = ring_.peek_batch(cqes, kBatch);
    unsigned k = 0;
    bool wake = false;
    for (unsigned i = 0; i < n; ++i) {
      if (cqes[i]->user_data == kWakeToken) {
        wake = true;
        continue;
      }
      batch[k++] = {cqes[i]->user_data, cqes[i]->res};
    }
    ring_.advance(n);
    if (k) sink_(batch, k);
    if (wake && stop_.load(std::memory_order_acquire)) return;
  }
}

}  // namespace chainfs::io
