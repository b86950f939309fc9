#pragma once
// Calling the reclaim hook from an allocation that must wait: the hook runs with no pool lock
// held, and an allocation made by the hook itself waits without calling the hook again
// (reclaim that needs memory must not recurse into reclaim).
#include <cstddef>
#include <mutex>

#include "mem/page_pool.h"

namespace chainfs::mem {

class ReclaimCaller {
 public:
  void set(ReclaimHook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::make_shared<ReclaimHook>(std::move(hook));
  }
  // Runs the hook unless none is set or this thread is already inside a hook; returns whether
  // it ran.
  bool call(size_t pages_wanted);

 private:
  std::mutex mu_;
  std::shared_ptr<ReclaimHook> hook_;  // a copy is taken under mu_, the call runs outside it
};

}  // namespace chainfs::mem
