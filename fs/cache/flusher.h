#pragma once
// Flusher: the background writeback thread. It runs `work` on a timer (every interval) and
// whenever kick() says the dirty threshold was crossed. A kick during a run makes it run
// again right after. Stopped (and joined) by the destructor.
#include <cstdint>
#include <functional>
#include <thread>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
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

  void kick() EXCLUDES(mu_);
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  void loop() EXCLUDES(mu_);

  Work work_;
  const uint32_t interval_ms_;
  base::Mutex mu_;
  base::CondVar cv_;
  bool kicked_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace chainfs::cache
