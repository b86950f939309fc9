#include "io/own_rings.h"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>

#include "base/log.h"

namespace chainfs::io {

namespace {

std::atomic<uint64_t> next_id{1};

// The ring the thread holds, and the pool it came from (0: none).
struct Slot {
  uint64_t pool = 0;
  OwnRings::Lent* ring = nullptr;
};
thread_local Slot t_slot;

}  // namespace

OwnRings::OwnRings(unsigned entries) : id_(next_id.fetch_add(1, std::memory_order_relaxed)), entries_(entries) {}

OwnRings::~OwnRings() {
  if (t_slot.pool == id_) t_slot = {};
}

OwnRings::Lent* OwnRings::held() const { return t_slot.pool == id_ ? t_slot.ring : nullptr; }

OwnRings::Lent* OwnRings::current() {
  if (t_slot.pool == id_) return t_slot.ring;
  if (t_slot.pool != 0) return nullptr;
  Lent* l = nullptr;
  {
    base::MutexLock lk(mu_);
    if (!free_.empty()) {
      l = free_.back();
      free_.pop_back();
    } else if (!failed_) {
      auto made = std::make_unique<Lent>();
      // Task work (posting the CQE) then runs when the thread waits in the ring, without an
      // interrupt; the thread that submits is the one that waits, so nothing else needs it.
      int r = made->ring.init(entries_, IORING_SETUP_COOP_TASKRUN);
      if (r == -EINVAL) r = made->ring.init(entries_);  // a kernel before 5.19
      if (r < 0) {
        failed_ = true;
        base::log(base::LogLevel::kWarning,
                  fmt::format("io_uring: no ring of its own for a waiting thread ({}); using the shared one", r));
        return nullptr;
      }
      l = made.get();
      all_.push_back(std::move(made));
    } else {
      return nullptr;
    }
  }
  t_slot = {id_, l};
  return l;
}

void OwnRings::release() {
  if (t_slot.pool != id_) return;
  Lent* l = t_slot.ring;
  t_slot = {};
  base::MutexLock lk(mu_);
  free_.push_back(l);
}

size_t OwnRings::rings() const {
  base::MutexLock lk(mu_);
  return all_.size();
}

}  // namespace chainfs::io
