#include "io/reaper.h"

#include <fmt/format.h>

namespace chainfs::io {

Reaper::~Reaper() { join(); }

void Reaper::start() { thread_ = std::thread([this] { loop(); }); }

void Reaper::join() {
  if (thread_.joinable()) thread_.join();
}

void Reaper::loop() {
  struct io_uring_cqe* cqes[kBatch];
  Cqe batch[kBatch];
  for (;;) {
    struct io_uring_cqe* first = nullptr;
    int r = ring_.wait_cqe(&first);
    if (r < 0) {
      // Only a broken ring fails here; nothing more can complete, so leave.
      fmt::print(stderr, "chainfs: io_uring wait failed: {}\n", r);
      return;
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
