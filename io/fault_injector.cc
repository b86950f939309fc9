#include "io/fault_injector.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/bio_device.h"
#include "io/fault_rules.h"

namespace chainfs::io {

namespace {

constexpr uint64_t kBlockSize = 4096;

// The rules of the control file, kept up to date with it.
class FaultControl {
 public:
  explicit FaultControl(std::string path) : path_(std::move(path)) {}

  // 0, or -errno / -EINVAL with *why (the first load).
  int load(std::string* why) EXCLUDES(mu_) {
    base::MutexLock lk(mu_);
    return refresh_locked(why);
  }

  // The fate of one request; waits out its delay before returning.
  FaultDecision decide(FaultOp op, uint64_t offset, uint64_t len) EXCLUDES(mu_) {
    FaultDecision d;
    {
      base::MutexLock lk(mu_);
      std::string why;
      if (refresh_locked(&why) < 0) base::log(base::LogLevel::kWarning, why + " (keeping the previous fault rules)");
      d = rules_.decide(op, offset, len);
    }
    // The injected latency spike itself (a fault rule), not a poll.
    if (d.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(d.delay_ms));
    return d;
  }

 private:
  using Key = std::tuple<ino_t, int64_t, int64_t, off_t>;

  // Reads the file again when its identity changed, or when it changed within the last
  // seconds (file times are coarser than two quick replacements of a small file).
  int refresh_locked(std::string* why) REQUIRES(mu_) {
    struct stat st;
    Key key{};
    if (::stat(path_.c_str(), &st) == 0) key = Key{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
    else if (errno != ENOENT) return fail(why, "cannot stat the fault control file " + path_, -errno);
    const bool recent = std::get<0>(key) != 0 && ::time(nullptr) - std::get<1>(key) < 2;
    if (key == key_ && !recent) return 0;
    key_ = key;
    std::string text;
    if (std::get<0>(key) != 0) {
      std::ifstream in(path_);
      if (!in) return fail(why, "cannot read the fault control file " + path_, -EIO);
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    if ((loaded_ && text == text_) || (refused_ && text == *refused_)) return 0;
    FaultRules next;
    if (int r = next.parse(text, why); r < 0) {
      refused_ = std::move(text);
      return r;
    }
    rules_ = std::move(next);
    text_ = std::move(text);
    loaded_ = true;
    base::log(base::LogLevel::kDebug, "fault rules from " + path_ + (rules_.empty() ? ": none" : ": in effect"));
    return 0;
  }
  static int fail(std::string* why, const std::string& what, int e) {
    *why = what + ": " + std::strerror(-e);
    return e;
  }

  const std::string path_;
  base::Mutex mu_;
  Key key_ GUARDED_BY(mu_){};
  std::string text_ GUARDED_BY(mu_);  // what rules_ were parsed from
  std::optional<std::string> refused_ GUARDED_BY(mu_);  // the last text that did not parse (reported once)
  bool loaded_ GUARDED_BY(mu_) = false;
  FaultRules rules_ GUARDED_BY(mu_);
};

uint64_t total_len(const struct iovec* iov, int iovcnt) {
  uint64_t n = 0;
  for (int i = 0; i < iovcnt; ++i) n += iov[i].iov_len;
  return n;
}

// The first half of a request, in whole blocks (nothing when the request is one block).
std::vector<struct iovec> torn_prefix(const struct iovec* iov, int iovcnt) {
  const uint64_t want = total_len(iov, iovcnt) / kBlockSize / 2 * kBlockSize;
  std::vector<struct iovec> out;
  uint64_t n = 0;
  for (int i = 0; i < iovcnt && n < want; ++i) {
    const size_t take = std::min<uint64_t>(iov[i].iov_len, want - n);
    out.push_back({iov[i].iov_base, take});
    n += take;
  }
  return out;
}

// The Device face.
class InjectingDevice final : public Device {
 public:
  InjectingDevice(std::unique_ptr<Device> inner, std::shared_ptr<FaultControl> ctl)
      : inner_(std::move(inner)), ctl_(std::move(ctl)) {}

  uint64_t size_bytes() const override { return inner_->size_bytes(); }
  const QueueLimits& limits() const override { return inner_->limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override {
    if (ctl_->decide(FaultOp::kRead, offset, total_len(iov, iovcnt)).action != FaultDecision::kPass) return -EIO;
    return inner_->readv(offset, iov, iovcnt);
  }
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override {
    switch (ctl_->decide(FaultOp::kWrite, offset, total_len(iov, iovcnt)).action) {
      case FaultDecision::kPass: return inner_->writev(offset, iov, iovcnt);
      case FaultDecision::kEio: return -EIO;
      case FaultDecision::kShort: {
        auto head = torn_prefix(iov, iovcnt);
        if (!head.empty()) inner_->writev(offset, head.data(), static_cast<int>(head.size()));
        return -EIO;
      }
    }
    return -EIO;
  }
  int flush() override {
    if (ctl_->decide(FaultOp::kFlush, 0, 0).action != FaultDecision::kPass) return -EIO;
    return inner_->flush();
  }

 private:
  std::unique_ptr<Device> inner_;
  std::shared_ptr<FaultControl> ctl_;
};

// Both faces, for an inner device that is also a BioDevice.
class InjectingBioDevice final : public Device, public BioDevice {
 public:
  InjectingBioDevice(std::unique_ptr<Device> inner, std::shared_ptr<FaultControl> ctl)
      : bio_(inner->bio_face()), ctl_(ctl), sync_(std::move(inner), std::move(ctl)) {}

  uint64_t size_bytes() const override { return sync_.size_bytes(); }
  const QueueLimits& limits() const override { return sync_.limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override { return sync_.readv(offset, iov, iovcnt); }
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override { return sync_.writev(offset, iov, iovcnt); }
  int flush() override { return sync_.flush(); }
  BioDevice* bio_face() override { return this; }

  using BioDevice::submit;
  void submit(Bio* const* bios, size_t n) override {
    std::vector<Bio*> pass, failed;
    for (size_t i = 0; i < n; ++i) {
      Bio* b = bios[i];
      const FaultOp op = b->op() == BioOp::kRead    ? FaultOp::kRead
                         : b->op() == BioOp::kWrite ? FaultOp::kWrite
                                                    : FaultOp::kFlush;
      const uint64_t len = op == FaultOp::kFlush ? 0 : b->bytes();
      switch (ctl_->decide(op, b->offset(), len).action) {
        case FaultDecision::kPass: pass.push_back(b); break;
        case FaultDecision::kEio: failed.push_back(b); break;
        case FaultDecision::kShort: {
          auto head = torn_prefix(b->iov(), b->iovcnt());
          if (head.empty()) {
            failed.push_back(b);
            break;
          }
          // A shadow bio carries the first half; the caller's bio ends with -EIO after it.
          auto* s = new Bio;
          s->reset(BioOp::kWrite, b->offset());
          for (const auto& v : head) s->add_segment(v.iov_base, v.iov_len);
          s->push_end_io([b](Bio&, int) { b->end(-EIO); });
          s->set_release([](void*, Bio* bio) { delete bio; }, nullptr);
          pass.push_back(s);
          break;
        }
      }
    }
    if (!pass.empty()) bio_->submit(pass.data(), pass.size());
    for (Bio* b : failed) b->end(-EIO);
  }
  void wait_until(const std::function<bool()>& done) override { bio_->wait_until(done); }
  uint32_t in_flight() const override { return bio_->in_flight(); }
  IoStats& stats() override { return bio_->stats(); }

 private:
  BioDevice* bio_;
  std::shared_ptr<FaultControl> ctl_;
  InjectingDevice sync_;  // the Device face; owns the inner device
};

}  // namespace

std::unique_ptr<Device> make_fault_injector(std::unique_ptr<Device> inner, const std::string& control_path,
                                            std::string* why) {
  auto ctl = std::make_shared<FaultControl>(control_path);
  if (ctl->load(why) < 0) return nullptr;
  if (inner->bio_face())
    return std::make_unique<InjectingBioDevice>(std::move(inner), std::move(ctl));
  return std::make_unique<InjectingDevice>(std::move(inner), std::move(ctl));
}

}  // namespace chainfs::io
