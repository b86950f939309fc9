#include "base/shared_mutex.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

bool try_exclusive(chainfs::base::SharedMutex& mu) {
  bool got = false;
  std::thread([&] {
    if (mu.try_lock()) {
      got = true;
      mu.unlock();
    }
  }).join();
  return got;
}

bool try_shared(chainfs::base::SharedMutex& mu) {
  bool got = false;
  std::thread([&] {
    if (mu.try_lock_shared()) {
      got = true;
      mu.unlock_shared();
    }
  }).join();
  return got;
}

}  // namespace

TEST_CASE("ReaderLock lets other readers in and keeps writers out") {
  chainfs::base::SharedMutex mu;
  chainfs::base::ReaderLock lock(mu);
  CHECK(try_shared(mu));
  CHECK_FALSE(try_exclusive(mu));
  lock.unlock();
  CHECK(try_exclusive(mu));
  lock.lock();
  CHECK_FALSE(try_exclusive(mu));
}

TEST_CASE("WriterLock keeps readers and writers out until it is released") {
  chainfs::base::SharedMutex mu;
  {
    chainfs::base::WriterLock lock(mu);
    CHECK_FALSE(try_shared(mu));
    CHECK_FALSE(try_exclusive(mu));
    lock.unlock();
    CHECK(try_shared(mu));
    lock.lock();
    CHECK_FALSE(try_shared(mu));
  }
  CHECK(try_exclusive(mu));
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
