#include "fs/cache/flusher.h"

#include <chrono>

namespace chainfs::cache {

Flusher::Flusher(Work work, uint32_t interval_ms) : work_(std::move(work)), interval_ms_(interval_ms) {
  thread_ = std::thread([this] { loop(); });
}

Flusher::~Flusher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Flusher::kick() {
  {
    std::lock_guard lk(mu_);
    if (kicked_) return;
    kicked_ = true;
  }
  cv_.notify_one();
}

void Flusher::loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    bool kicked;
    if (interval_ms_ == 0) {
      cv_.wait(lk, [&] { return stop_ || kicked_; });
      kicked = kicked_;
    } else {
      // The timer trigger; kick() and stop() wake it at once.
      kicked = cv_.wait_for(lk, std::chrono::milliseconds(interval_ms_), [&] { return stop_ || kicked_; }) && kicked_;
    }
    if (stop_) return;
    kicked_ = false;
    lk.unlock();
    work_(kicked ? Trigger::kThreshold : Trigger::kTimer);
    lk.lock();
  }
}

}  // namespace chainfs::cache
