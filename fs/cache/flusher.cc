#include "fs/cache/flusher.h"

#include <chrono>

namespace chainfs::cache {

Flusher::Flusher(Work work, uint32_t interval_ms) : work_(std::move(work)), interval_ms_(interval_ms) {
  thread_ = std::thread([this] { loop(); });
}

Flusher::~Flusher() {
  {
    base::MutexLock lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Flusher::kick() {
  {
    base::MutexLock lk(mu_);
    if (kicked_) return;
    kicked_ = true;
  }
  cv_.notify_one();
}

void Flusher::loop() {
  base::MutexLock lk(mu_);
  for (;;) {
    if (interval_ms_ == 0) {
      while (!stop_ && !kicked_) cv_.wait(mu_);
    } else {
      // The timer trigger; kick() and stop() wake it at once.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms_);
      while (!stop_ && !kicked_ && cv_.wait_until(mu_, deadline)) {
      }
    }
    if (stop_) return;
    bool kicked = kicked_;
    kicked_ = false;
    lk.unlock();
    work_(kicked ? Trigger::kThreshold : Trigger::kTimer);
    lk.lock();
  }
}

}  // namespace chainfs::cache
