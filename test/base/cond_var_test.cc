#include "base/cond_var.h"

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <thread>

#include "base/mutex.h"
#include "test/base/lock_probe.h"

namespace {

// A bounded queue: the producer waits while it is full, the consumer while it is empty.
struct Queue {
  chainfs::base::Mutex mu;
  chainfs::base::CondVar changed;
  std::deque<int> items GUARDED_BY(mu);
  bool closed GUARDED_BY(mu) = false;

  void push(int v) EXCLUDES(mu) {
    chainfs::base::MutexLock lock(mu);
    while (items.size() >= 2) changed.wait(mu);
    items.push_back(v);
    changed.notify_all();
  }
  void close() EXCLUDES(mu) {
    chainfs::base::MutexLock lock(mu);
    closed = true;
    changed.notify_all();
  }
  // false once closed and drained.
  bool pop(int* v) EXCLUDES(mu) {
    chainfs::base::MutexLock lock(mu);
    while (items.empty() && !closed) changed.wait(mu);
    if (items.empty()) return false;
    *v = items.front();
    items.pop_front();
    changed.notify_all();
    return true;
  }
};

}  // namespace

TEST_CASE("CondVar::wait hands every item of a bounded queue over, in order") {
  Queue q;
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) q.push(i);
    q.close();
  });
  int expected = 0, v = 0;
  while (q.pop(&v)) {
    CHECK(v == expected);
    ++expected;
  }
  producer.join();
  CHECK(expected == 1000);
}

TEST_CASE("CondVar::wait_for returns false when the time runs out, with the mutex held again") {
  chainfs::base::Mutex mu;
  chainfs::base::CondVar cv;
  chainfs::base::MutexLock lock(mu);
  auto start = std::chrono::steady_clock::now();
  bool woken = true;
  // Spurious wake-ups return true; the time running out is the only false.
  while (woken && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    woken = cv.wait_for(mu, std::chrono::milliseconds(20));
  CHECK_FALSE(woken);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(20));
  CHECK_FALSE(chainfs::base::test::lockable_elsewhere(mu));
}

TEST_CASE("CondVar::wait_until wakes on a notify before the deadline") {
  chainfs::base::Mutex mu;
  chainfs::base::CondVar cv;
  bool ready = false;
  std::thread t([&] {
    chainfs::base::MutexLock lock(mu);
    ready = true;
    cv.notify_one();
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  {
    chainfs::base::MutexLock lock(mu);
    while (!ready && cv.wait_until(mu, deadline)) {
    }
    CHECK(ready);
  }
  t.join();
  CHECK(std::chrono::steady_clock::now() < deadline);
}
