#pragma once
// Reaper: the one thread that reaps a Ring's completions. It does no filesystem work: it
// collects CQEs in batches and hands each (user_data, res) to a sink, which in UringDevice
// retries short transfers and moves the request to the completion side
// (completion_thread.h). Requests are reaped while others are being submitted, so what is
// in flight stays bounded by the ring size.
#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "io/ring.h"

namespace chainfs::io {

class Reaper {
 public:
  struct Cqe {
    uint64_t user_data;
    int32_t res;
  };
  // Called in the reaper thread for each batch of completions.
  using Sink = std::function<void(const Cqe* cqes, unsigned n)>;
  // user_data of the NOP that wakes the reaper to stop; never passed to the sink.
  static constexpr uint64_t kWakeToken = ~uint64_t{0};
  // Most CQEs handed to the sink in one call.
  static constexpr unsigned kBatch = 64;

  Reaper(Ring& ring, Sink sink) : ring_(ring), sink_(std::move(sink)) {}
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  void start();
  // Asks the thread to exit once it sees the kWakeToken CQE (the caller submits a NOP with
  // it after this call), and joins it.
  void request_stop() { stop_.store(true, std::memory_order_release); }
  void join();
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  void loop();
  Ring& ring_;
  Sink sink_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace chainfs::io
