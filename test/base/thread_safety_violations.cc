// Lock mistakes that clang's -Wthread-safety must reject (thread_safety_check.sh compiles each
// VIOLATION case and expects a thread-safety error; case 0 is the same code done right, which
// must compile cleanly). This is what makes the clang build a check of the annotations.
#include "base/cond_var.h"
#include "base/mutex.h"
#include "base/shared_mutex.h"
#include "base/thread_annotations.h"

#ifndef VIOLATION
#define VIOLATION 0
#endif

namespace {

using chainfs::base::CondVar;
using chainfs::base::Mutex;
using chainfs::base::MutexLock;
using chainfs::base::ReaderLock;
using chainfs::base::SharedMutex;
using chainfs::base::WriterLock;

class Account {
 public:
  void deposit(int n) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    add_locked(n);
    changed_.notify_all();
  }
  int wait_for_funds() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (balance_ == 0) changed_.wait(mu_);
    return balance_;
  }
  int audit() EXCLUDES(table_mu_) {
    ReaderLock lock(table_mu_);
    return entries_;
  }
  void record() EXCLUDES(table_mu_) {
    WriterLock lock(table_mu_);
    ++entries_;
  }

#if VIOLATION == 1  // writes guarded data without the lock
  void broken() { balance_ = 0; }
#elif VIOLATION == 2  // reads guarded data after releasing the lock
  int broken() {
    MutexLock lock(mu_);
    lock.unlock();
    return balance_;
  }
#elif VIOLATION == 3  // calls a REQUIRES function without the lock
  void broken() { add_locked(1); }
#elif VIOLATION == 4  // waits on a condition variable without holding its mutex
  void broken() { changed_.wait(mu_); }
#elif VIOLATION == 5  // calls an EXCLUDES function with the lock held
  void broken() {
    MutexLock lock(mu_);
    deposit(1);
  }
#elif VIOLATION == 6  // writes under a shared (reader) lock
  void broken() {
    ReaderLock lock(table_mu_);
    ++entries_;
  }
#elif VIOLATION == 7  // returns with the mutex still locked
  void broken() { mu_.lock(); }
#endif

 private:
  void add_locked(int n) REQUIRES(mu_) { balance_ += n; }

  Mutex mu_;
  CondVar changed_;
  int balance_ GUARDED_BY(mu_) = 0;
  SharedMutex table_mu_;
  int entries_ GUARDED_BY(table_mu_) = 0;
};

}  // namespace

int thread_safety_violations_main() {
  Account a;
  a.deposit(1);
  a.record();
  return a.wait_for_funds() + a.audit();
}
