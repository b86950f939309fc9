#include "io/completion_thread.h"

namespace chainfs::io {

namespace {
constexpr base::Choice<CompletionMode> kModes[] = {
    {"inline", CompletionMode::kInline}, {"thread", CompletionMode::kThread}, {"waiter", CompletionMode::kWaiter}};
}  // namespace

std::span<const base::Choice<CompletionMode>> completion_modes() { return kModes; }

const char* to_string(CompletionMode m) { return base::choice_name(completion_modes(), m); }

bool parse_completion_mode(std::string_view s, CompletionMode* out) {
  auto m = base::parse_choice(completion_modes(), s);
  if (m) *out = *m;
  return m.has_value();
}

CompletionThread::CompletionThread(CompletionMode mode, RunFn run) : mode_(mode), run_(std::move(run)) {
  if (mode_ == CompletionMode::kThread) worker_ = std::thread([this] { worker_loop(); });
}

CompletionThread::~CompletionThread() {
  {
    base::MutexLock lk(mu_);
    stop_ = true;
  }
  items_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  // Waiter mode (or items posted after the worker left): finish them here, nobody else will.
  for (;;) {
    Item it;
    {
      base::MutexLock lk(mu_);
      if (q_.empty()) break;
      it = q_.front();
      q_.pop_front();
    }
    run_one(it);
  }
}

void CompletionThread::run_one(const Item& it) {
  run_(it.bio, it.status);
  // Taking the lock orders the callback's effects before the waiters' next look at done().
  base::MutexLock lk(mu_);
  done_cv_.notify_all();
}

void CompletionThread::run_now(Bio* bio, int status) { run_one({bio, status}); }

void CompletionThread::post(Bio* bio, int status) {
  if (mode_ == CompletionMode::kInline) {
    run_one({bio, status});
    return;
  }
  {
    base::MutexLock lk(mu_);
    q_.push_back({bio, status});
  }
  if (mode_ == CompletionMode::kThread) items_cv_.notify_one();
  else done_cv_.notify_all();
}

void CompletionThread::notify() {
  // Both sides read-modify-write waiting_, so one comes after the other: either this sees
  // the waiter, or the waiter's first look at done() sees what was changed before this call.
  if (waiting_.fetch_add(0, std::memory_order_acq_rel) == 0) return;
  base::MutexLock lk(mu_);
  done_cv_.notify_all();
}

size_t CompletionThread::queued() const {
  base::MutexLock lk(mu_);
  return q_.size();
}

void CompletionThread::wait_until(const std::function<bool()>& done) {
  base::MutexLock lk(mu_);
  waiting_.fetch_add(1, std::memory_order_acq_rel);  // before the first look at done()
  while (!done()) {
    if (mode_ == CompletionMode::kWaiter && !q_.empty()) {
      Item it = q_.front();
      q_.pop_front();
      lk.unlock();
      run_(it.bio, it.status);
      lk.lock();
      done_cv_.notify_all();  // another waiter's done() may have become true
      continue;
    }
    done_cv_.wait(mu_);
  }
  waiting_.fetch_sub(1, std::memory_order_relaxed);
}

void CompletionThread::worker_loop() {
  base::MutexLock lk(mu_);
  for (;;) {
    while (!stop_ && q_.empty()) items_cv_.wait(mu_);
    if (q_.empty()) return;  // stop_ and drained
    Item it = q_.front();
    q_.pop_front();
    lk.unlock();
    run_(it.bio, it.status);
    lk.lock();
    done_cv_.notify_all();
  }
}

}  // namespace chainfs::io
