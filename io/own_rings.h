#pragma once
// OwnRings: io_uring rings lent to threads for the requests each thread submits and then
// waits for itself (inline-completion bios: a page-cache read, a metadata read or write).
// The thread submits to its ring and reaps it in its own wait, so a completion wakes only
// that thread: no hop through the reaper, no shared completion lock, no herd of waiters on
// one condition variable. A ring goes back to the pool once nothing of its thread is in
// flight on it, and the next thread to need one takes it, so there are never more rings than
// threads waiting at the same time.
//
// A thread holds at most one ring at a time (of one pool); a thread that holds another
// pool's ring gets nullptr and uses the device's shared ring instead.
#include <cstdint>
#include <memory>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/ring.h"

namespace chainfs::io {

class OwnRings {
 public:
  struct Lent {
    Ring ring;
    uint32_t in_flight = 0;  // only its thread touches it
  };

  // Each ring has `entries` SQEs (and twice as many CQEs).
  explicit OwnRings(unsigned entries);
  // REQUIRES: no ring is lent (every thread has reaped what it submitted).
  ~OwnRings();
  OwnRings(const OwnRings&) = delete;
  OwnRings& operator=(const OwnRings&) = delete;

  // The calling thread's ring from this pool, lent now if it holds none; nullptr when it
  // holds another pool's ring or no ring can be set up (the shared ring is then used).
  Lent* current() EXCLUDES(mu_);
  // The ring the calling thread holds from this pool, or nullptr; never lends one.
  Lent* held() const;
  // Takes the calling thread's ring back. REQUIRES: held() and held()->in_flight == 0.
  void release() EXCLUDES(mu_);
  // Rings set up so far (lent or not); for tests.
  size_t rings() const EXCLUDES(mu_);

 private:
  const uint64_t id_;  // tells this pool's rings from another's in a thread's slot
  const unsigned entries_;
  mutable base::Mutex mu_;
  std::vector<std::unique_ptr<Lent>> all_ GUARDED_BY(mu_);
  std::vector<Lent*> free_ GUARDED_BY(mu_);
  bool failed_ GUARDED_BY(mu_) = false;  // a ring could not be set up: do not retry each time
};

}  // namespace chainfs::io
