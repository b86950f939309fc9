#pragma once
// Calling the reclaim hook from an allocation that must wait: the hook runs with no pool lock
// held, and an allocation made by the hook itself waits without calling the hook again
// (reclaim that needs memory must not recurse into reclaim).
#include <cstddef>
#include <memory>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "mem/page_pool.h"

namespace chainfs::mem {

class ReclaimCaller {
 public:
  void set(ReclaimHook hook) EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    hook_ = std::make_shared<ReclaimHook>(std::move(hook));
  }
  // Runs the hook unless none is set or this thread is already inside a hook; returns whether
  // it ran.
  bool call(size_t pages_wanted) EXCLUDES(mu_);

 private:
  base::Mutex mu_;
  std::shared_ptr<ReclaimHook> hook_ GUARDED_BY(mu_);  // a copy is taken under mu_, the call runs outside it
};

}  // namespace chainfs::mem
