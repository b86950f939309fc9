#include "base/shared_mutex.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test/base/lock_probe.h"

using chainfs::base::test::lockable_elsewhere;
using chainfs::base::test::shared_lockable_elsewhere;

TEST_CASE("ReaderLock lets other readers in and keeps writers out") {
  chainfs::base::SharedMutex mu;
  chainfs::base::ReaderLock lock(mu);
  CHECK(shared_lockable_elsewhere(mu));
  CHECK_FALSE(lockable_elsewhere(mu));
  lock.unlock();
  CHECK(lockable_elsewhere(mu));
  lock.lock();
  CHECK_FALSE(lockable_elsewhere(mu));
}

TEST_CASE("WriterLock keeps readers and writers out until it is released") {
  chainfs::base::SharedMutex mu;
  {
    chainfs::base::WriterLock lock(mu);
    CHECK_FALSE(shared_lockable_elsewhere(mu));
    CHECK_FALSE(lockable_elsewhere(mu));
    lock.unlock();
    CHECK(shared_lockable_elsewhere(mu));
    lock.lock();
    CHECK_FALSE(shared_lockable_elsewhere(mu));
  }
  CHECK(lockable_elsewhere(mu));
}

TEST_CASE("writers under WriterLock and readers under ReaderLock see a consistent pair") {
  struct Pair {
    chainfs::base::SharedMutex mu;
    long a GUARDED_BY(mu) = 0;
    long b GUARDED_BY(mu) = 0;
  } p;
  std::atomic<bool> torn{false};
  std::vector<std::thread> ts;
  for (int w = 0; w < 2; ++w)
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        chainfs::base::WriterLock lock(p.mu);
        ++p.a;
        ++p.b;
      }
    });
  for (int r = 0; r < 2; ++r)
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        chainfs::base::ReaderLock lock(p.mu);
        if (p.a != p.b) torn = true;
      }
    });
  for (auto& t : ts) t.join();
  CHECK_FALSE(torn.load());
  chainfs::base::ReaderLock lock(p.mu);
  CHECK(p.a == 40000);
}
