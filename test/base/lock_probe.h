#pragma once
// Whether another thread can take a lock right now: it tries from a thread of its own and
// lets go at once.
#include <thread>

namespace chainfs::base::test {

template <class Lock>
bool lockable_elsewhere(Lock& mu) {
  bool got = false;
  std::thread([&] {
    if (mu.try_lock()) {
      got = true;
      mu.unlock();
    }
  }).join();
  return got;
}

template <class SharedLock>
bool shared_lockable_elsewhere(SharedLock& mu) {
  bool got = false;
  std::thread([&] {
    if (mu.try_lock_shared()) {
      got = true;
      mu.unlock_shared();
    }
  }).join();
  return got;
}

}  // namespace chainfs::base::test
