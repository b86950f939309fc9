#pragma once
// Flusher: the background writeback thread. It runs `work` on a timer (every interval) and
// whenever kick() says the dirty threshold was crossed. A kick during a run makes it run
// again right after. Stopped (and joined) by the destructor.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "fs/cache/cache_stats.h"

namespace chainfs::cache {

class Flusher {
 public:
  using Work = std::function<void(Trigger)>;
  // interval_ms == 0: no timer, only kicks.
  Flusher(Work work, uint32_t interval_ms);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void kick();
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  void loop();

  Work work_;
  const uint32_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;  // GUARDED_BY(mu_)
  bool stop_ = false;    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace chainfs::cache
