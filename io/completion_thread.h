#pragma once
// Where completion work runs: always in a thread that may sleep and take locks (never in
// a signal or interrupt-like context), in one of three places:
//   inline  — in the reaper thread, right after the CQE is reaped (least latency; the
//             callbacks then delay reaping);
//             (inline-completion bios, bio.h, skip all three on UringDevice: their own
//             thread reaps them)
//   thread  — in one completion thread fed by a queue (default): the reaper only moves
//             finished requests, the completion thread takes the filesystem locks;
//   waiter  — in whichever thread waits on the device (wait_until), like a synchronous
//             filesystem that completes its own I/O.
// CompletionThread implements all three: post() is called by the reaper; wait_until() by
// anyone waiting for I/O. Callbacks run without any lock of this class held.
#include <atomic>
#include <deque>
#include <functional>
#include <span>
#include <string_view>
#include <thread>

#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/option_table.h"
#include "base/thread_annotations.h"

namespace chainfs::io {

class Bio;

enum class CompletionMode { kInline, kThread, kWaiter };

// The values of completion= (engine_options.h), in --help order.
std::span<const base::Choice<CompletionMode>> completion_modes();
const char* to_string(CompletionMode m);
// A spelling of completion_modes(); false for anything else.
bool parse_completion_mode(std::string_view s, CompletionMode* out);

class CompletionThread {
 public:
  // run(bio, status) finishes one request; it is the only thing called on posted items.
  using RunFn = std::function<void(Bio* bio, int status)>;

  CompletionThread(CompletionMode mode, RunFn run);
  // Runs whatever is still queued (in the caller in waiter mode), then stops the thread.
  ~CompletionThread();
  CompletionThread(const CompletionThread&) = delete;
  CompletionThread& operator=(const CompletionThread&) = delete;

  CompletionMode mode() const { return mode_; }
  void post(Bio* bio, int status) EXCLUDES(mu_);
  // Runs the item in the calling thread now, whatever the mode, and wakes the waiters.
  void run_now(Bio* bio, int status) EXCLUDES(mu_);
  // Blocks until done() (evaluated with mu_ held); runs queued items meanwhile in waiter mode.
  void wait_until(const std::function<bool()>& done) EXCLUDES(mu_);
  // Wakes waiters after a state change made outside a callback (a request that completed
  // elsewhere went back to its pool); costs one atomic operation when nobody waits.
  void notify() EXCLUDES(mu_);
  // The completion thread's id (thread mode), else a default-constructed id.
  std::thread::id thread_id() const { return worker_.get_id(); }
  size_t queued() const EXCLUDES(mu_);

 private:
  struct Item {
    Bio* bio;
    int status;
  };
  void worker_loop() EXCLUDES(mu_);
  void run_one(const Item& it) EXCLUDES(mu_);

  const CompletionMode mode_;
  RunFn run_;
  mutable base::Mutex mu_;
  base::CondVar items_cv_;  // the completion thread waits for items
  base::CondVar done_cv_;   // waiters wait for progress (and items, in waiter mode)
  std::deque<Item> q_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<uint32_t> waiting_{0};  // threads in wait_until, for notify()
  std::thread worker_;
};

}  // namespace chainfs::io
