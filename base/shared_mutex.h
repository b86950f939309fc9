#pragma once
// SharedMutex: a std::shared_mutex that clang's thread-safety analysis knows as a lock with
// a shared (reader) and an exclusive (writer) mode; WriterLock and ReaderLock hold it for a
// scope. Data GUARDED_BY a SharedMutex may be read under either lock and written only under
// the WriterLock.
#include <shared_mutex>

#include "base/thread_annotations.h"

namespace chainfs::base {

class CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  void lock_shared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { mu_.unlock_shared(); }
  bool try_lock_shared() TRY_ACQUIRE_SHARED(true) { return mu_.try_lock_shared(); }

  // Tell the analysis the calling thread holds this mutex (exclusively, or at least shared)
  // where it cannot see that. Nothing is checked at run time.
  void assert_held() const ASSERT_CAPABILITY(this) {}
  void assert_shared_held() const ASSERT_SHARED_CAPABILITY(this) {}

 private:
  std::shared_mutex mu_;
};

// Holds mu exclusively for the scope; unlock() and lock() release it early and take it again.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  void unlock() RELEASE() {
    mu_.unlock();
    held_ = false;
  }
  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }

 private:
  SharedMutex& mu_;
  bool held_ = true;
};

// Holds mu shared for the scope; unlock() and lock() release it early and take it again.
// (unlock() is a plain RELEASE: a scoped lock gives back the mode it holds.)
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() RELEASE() {
    if (held_) mu_.unlock_shared();
  }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

  void unlock() RELEASE() {
    mu_.unlock_shared();
    held_ = false;
  }
  void lock() ACQUIRE_SHARED() {
    mu_.lock_shared();
    held_ = true;
  }

 private:
  SharedMutex& mu_;
  bool held_ = true;
};

}  // namespace chainfs::base
