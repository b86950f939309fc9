#include "base/mutex.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "test/base/lock_probe.h"

namespace {

using chainfs::base::test::lockable_elsewhere;

// A counter bumped by several threads: every increment lands when each holds the lock.
struct Counter {
  chainfs::base::Mutex mu;
  int value GUARDED_BY(mu) = 0;

  void add(int n) EXCLUDES(mu) {
    for (int i = 0; i < n; ++i) {
      chainfs::base::MutexLock lock(mu);
      ++value;
    }
  }
  int get() EXCLUDES(mu) {
    chainfs::base::MutexLock lock(mu);
    return value;
  }
};

}  // namespace

TEST_CASE("MutexLock makes increments from several threads exclusive") {
  Counter c;
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) ts.emplace_back([&] { c.add(20000); });
  for (auto& t : ts) t.join();
  CHECK(c.get() == 80000);
}

TEST_CASE("MutexLock::unlock releases the mutex and lock() takes it again") {
  chainfs::base::Mutex mu;
  chainfs::base::MutexLock lock(mu);
  CHECK_FALSE(lockable_elsewhere(mu));
  lock.unlock();
  CHECK(lockable_elsewhere(mu));
  lock.lock();
  CHECK_FALSE(lockable_elsewhere(mu));
}
