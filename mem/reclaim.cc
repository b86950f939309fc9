#include "mem/reclaim.h"

namespace chainfs::mem {

namespace {
thread_local bool t_in_reclaim = false;
}

bool ReclaimCaller::call(size_t pages_wanted) {
  if (t_in_reclaim) return false;
  std::shared_ptr<ReclaimHook> hook;
  {
    base::MutexLock lock(mu_);
    hook = hook_;
  }
  if (!hook || !*hook) return false;
  t_in_reclaim = true;
  struct Reset {
    ~Reset() { t_in_reclaim = false; }
  } reset;
  (*hook)(pages_wanted);
  return true;
}

}  // namespace chainfs::mem
