#pragma once
// Mutex: a std::mutex that clang's thread-safety analysis knows as a lock (libstdc++'s
// std::mutex carries no annotations), and MutexLock, which holds one for a scope. Both are
// inline wrappers: a Mutex is a std::mutex in size and cost.
//
//   base::Mutex mu_;
//   int count_ GUARDED_BY(mu_) = 0;
//   void add() EXCLUDES(mu_) { base::MutexLock lock(mu_); ++count_; }
//
// base/cond_var.h waits with one held.
#include <mutex>

#include "base/thread_annotations.h"

namespace chainfs::base {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // Tells the analysis that the calling thread holds this mutex, where it cannot see that
  // (a callback documented to run under the lock). Nothing is checked at run time.
  void assert_held() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;  // waits on mu_ itself
  std::mutex mu_;
};

// Holds mu from construction to the end of the scope; unlock() and lock() release it early
// and take it again.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() RELEASE() {
    mu_.unlock();
    held_ = false;
  }
  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

}  // namespace chainfs::base
