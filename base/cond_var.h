#pragma once
// CondVar: a std::condition_variable waited on with a base::Mutex held. A wait releases the
// mutex while it sleeps and holds it again when it returns, as std::condition_variable does;
// to the analysis the mutex stays held throughout (REQUIRES). Waits can wake spuriously, so
// the caller re-checks its condition in a loop, where the analysis sees the guarded reads:
//
//   base::MutexLock lock(mu_);
//   while (queue_.empty() && !stop_) cv_.wait(mu_);
//
// (A predicate lambda would be a function of its own, which the analysis checks without the
// lock held.)
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace chainfs::base {

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void wait(Mutex& mu) REQUIRES(mu) {
    Adopted lock(mu);
    cv_.wait(lock.get());
  }
  // Return false when the time ran out, true when notified (or woken spuriously).
  template <class Clock, class Duration>
  bool wait_until(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_until(lock.get(), deadline) == std::cv_status::no_timeout;
  }
  template <class Rep, class Period>
  bool wait_for(Mutex& mu, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_for(lock.get(), timeout) == std::cv_status::no_timeout;
  }

  void notify_one() noexcept { cv_.notify_one(); }
  void notify_all() noexcept { cv_.notify_all(); }

 private:
  // The caller's lock on mu as the std::unique_lock that std::condition_variable takes,
  // without owning it: mu is still held by the caller when the wait returns (or throws).
  class Adopted {
   public:
    explicit Adopted(Mutex& mu) : lock_(mu.mu_, std::adopt_lock) {}
    ~Adopted() { lock_.release(); }
    std::unique_lock<std::mutex>& get() { return lock_; }

   private:
    std::unique_lock<std::mutex> lock_;
  };

  std::condition_variable cv_;
};

}  // namespace chainfs::base
