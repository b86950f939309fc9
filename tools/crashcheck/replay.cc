#include "tools/crashcheck/replay.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <unordered_map>

#include "fs/cache/engine_config.h"
#include "fs/meta/filesystem.h"
#include "io/borrowed_device.h"
#include "tools/crashcheck/fs_access.h"
#include "tools/fsck/check.h"

namespace chainfs::crashcheck {

namespace {

constexpr uint64_t kChunk = 4096;

// A crash state: the image as of its window's start (shared, read-only) plus the chunks
// written since — by the window's kept writes, then by the mount that checks it.
class StateDevice final : public io::Device {
 public:
  explicit StateDevice(const std::vector<char>& base) : base_(base) {}
  uint64_t size_bytes() const override { return base_.size(); }
  const io::QueueLimits& limits() const override { return limits_; }
  int readv(uint64_t off, const struct iovec* iov, int n) override {
    for (int i = 0; i < n; ++i) {
      if (!in_range(off, iov[i].iov_len)) return -EIO;
      copy_out(off, static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
      off += iov[i].iov_len;
    }
    return 0;
  }
  int writev(uint64_t off, const struct iovec* iov, int n) override {
    for (int i = 0; i < n; ++i) {
      if (!in_range(off, iov[i].iov_len)) return -EIO;
      put(off, static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
      off += iov[i].iov_len;
    }
    return 0;
  }
  int flush() override { return 0; }

  bool in_range(uint64_t off, uint64_t len) const { return off <= base_.size() && len <= base_.size() - off; }
  void put(uint64_t off, const char* p, uint64_t len) {
    while (len > 0) {
      uint64_t c = off / kChunk, in = off % kChunk, n = std::min(len, kChunk - in);
      auto it = chunks_.find(c);
      if (it == chunks_.end()) it = chunks_.emplace(c, std::string(base_.data() + c * kChunk, chunk_len(c))).first;
      std::memcpy(it->second.data() + in, p, n);
      off += n;
      p += n;
      len -= n;
    }
  }
  void copy_out(uint64_t off, char* p, uint64_t len) const {
    while (len > 0) {
      uint64_t c = off / kChunk, in = off % kChunk, n = std::min(len, kChunk - in);
      auto it = chunks_.find(c);
      std::memcpy(p, it == chunks_.end() ? base_.data() + off : it->second.data() + in, n);
      off += n;
      p += n;
      len -= n;
    }
  }
  int dump(const std::string& path) const {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    std::vector<char> buf(1 << 20);
    int err = 0;
    for (uint64_t off = 0; off < base_.size() && !err; off += buf.size()) {
      uint64_t n = std::min<uint64_t>(buf.size(), base_.size() - off);
      copy_out(off, buf.data(), n);
      if (::pwrite(fd, buf.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) err = errno ? -errno : -EIO;
    }
    if (::close(fd) < 0 && !err) err = -errno;
    return err;
  }

 private:
  uint64_t chunk_len(uint64_t c) const { return std::min<uint64_t>(kChunk, base_.size() - c * kChunk); }
  const std::vector<char>& base_;
  io::QueueLimits limits_{};
  std::unordered_map<uint64_t, std::string> chunks_;
};

struct Window {
  uint64_t begin = 0, end = 0;    // entry indices [begin, end)
  std::vector<uint64_t> writes;   // indices of its write entries
  uint64_t cut = kNoCut;          // the verifier's cut (record's unit)
};

uint64_t mix(uint64_t seed, uint64_t index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + index + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The writes of window w kept by subset j of state index.
std::vector<uint64_t> kept_writes(const Window& w, uint64_t j, uint64_t seed, uint64_t index) {
  if (j == 0 || w.writes.empty()) return {};
  std::mt19937_64 rng(mix(seed, index));
  std::vector<uint64_t> out;
  if (j % 2 == 1) {
    uint64_t n = rng() % w.writes.size();  // a proper prefix: the whole window is the next flush's state
    out.assign(w.writes.begin(), w.writes.begin() + static_cast<std::ptrdiff_t>(n));
  } else {
    double p = 0.05 + 0.9 * std::uniform_real_distribution<double>(0, 1)(rng);
    std::uniform_real_distribution<double> u(0, 1);
    for (uint64_t i : w.writes)
      if (u(rng) < p) out.push_back(i);
  }
  return out;
}

void classify(const CheckFailure& f, ReplaySummary* s) {
  switch (f.kind) {
    case CheckFailure::kNameLost: ++s->names_lost; break;
    case CheckFailure::kNameBack: ++s->names_back; break;
    case CheckFailure::kNameWrong: ++s->names_wrong; break;
    case CheckFailure::kRenameNeither: ++s->renames_neither; break;
    case CheckFailure::kContent: ++s->contents_wrong; break;
    case CheckFailure::kXattr: ++s->xattrs_wrong; break;
    case CheckFailure::kUnexpected: ++s->unexpected; break;
    case CheckFailure::kError: ++s->errors; break;
  }
}

}  // namespace

std::string ReplaySummary::text() const {
  auto pct = [&](uint64_t n) { return states ? 100.0 * double(n) / double(states) : 0.0; };
  std::string t;
  t += fmt::format("crash states: {} (seed {}; log: {} writes, {} flushes, {} windows)\n", states, seed, log_writes,
                   log_flushes, windows);
  t += fmt::format("fsck-clean after mount+unmount: {}/{} ({:.1f}%); mount refused: {}; unmount failed: {}\n",
                   fsck_clean, states, pct(fsck_clean), mount_failed, unmount_failed);
  t += fmt::format("durability checks: {} (not checkable: {})\n", checks, unchecked);
  t += fmt::format("durable names lost: {}; removed names back: {}; names on the wrong inode: {}\n", names_lost,
                   names_back, names_wrong);
  t += fmt::format("renames over an existing file with neither file: {}\n", renames_neither);
  t += fmt::format("durable contents wrong: {}; xattrs wrong: {}; unexpected names: {}; read errors: {}\n",
                   contents_wrong, xattrs_wrong, unexpected, errors);
  t += fmt::format("states losing durable data: {} ({:.1f}%)\n", states_losing_data, pct(states_losing_data));
  t += fmt::format("failing states: {} ({:.1f}%)\n", failed_states, pct(failed_states));
  for (size_t i = 0; i < failures.size() && i < list_failures; ++i) {
    const StateFailure& f = failures[i];
    t += fmt::format("  seed {} index {} (window {}, subset {}, {}/{} window writes kept):\n", seed, f.index, f.window,
                     f.subset, f.writes_kept, f.writes_in_window);
    for (size_t k = 0; k < f.what.size() && k < 6; ++k) t += "    " + f.what[k] + "\n";
    if (f.what.size() > 6) t += fmt::format("    ... {} more\n", f.what.size() - 6);
  }
  if (failures.size() > list_failures) t += fmt::format("  ... {} more failing states\n", failures.size() - list_failures);
  return t;
}

int replay(const std::vector<char>& start_image, const std::vector<io::LogEntry>& log, const DurabilityRecord& rec,
           const ReplayOptions& o, ReplaySummary* out, std::string* msg) {
  ReplaySummary s;
  s.seed = o.seed;
  s.list_failures = o.list_failures;
  const bool bytes = rec.pos_unit == "bytes";
  for (const auto& e : log) {
    if (e.type == io::LogEntry::kFlush) {
      ++s.log_flushes;
    } else {
      ++s.log_writes;
      if (e.offset > start_image.size() || e.data.size() > start_image.size() - e.offset) {
        *msg = fmt::format("the log writes at {}+{}, past the image's end ({} bytes)", e.offset, e.data.size(),
                           start_image.size());
        return -EINVAL;
      }
    }
  }

  // Windows, and where each one's cut lies in the record's unit.
  std::vector<Window> windows(1);
  for (uint64_t i = 0; i < log.size(); ++i) {
    if (log[i].type == io::LogEntry::kFlush) {
      Window& prev = windows.back();
      prev.end = i;
      prev.cut = bytes ? (i == 0 ? 32 : log[i - 1].file_end) : i;
      windows.push_back(Window{i, 0, {}, kNoCut});
    } else {
      windows.back().writes.push_back(i);
    }
  }
  windows.back().end = log.size();
  s.windows = windows.size();

  uint64_t nonempty = 0;
  for (const auto& w : windows) nonempty += !w.writes.empty();
  uint64_t empty = windows.size() - nonempty;
  uint64_t subsets = 0;
  if (nonempty && o.states > empty) subsets = (o.states - empty + nonempty - 1) / nonempty - 1;
  struct StateId {
    uint64_t window, subset;
  };
  std::vector<StateId> ids;
  for (uint64_t w = 0; w < windows.size(); ++w)
    for (uint64_t j = 0; j <= (windows[w].writes.empty() ? 0 : subsets); ++j) ids.push_back({w, j});
  if (o.only_index >= 0 && uint64_t(o.only_index) >= ids.size()) {
    *msg = fmt::format("state index {} out of range (this log and states={} give {} states)", o.only_index, o.states,
                       ids.size());
    return -EINVAL;
  }

  Verifier verifier(rec);
  fs::MountOptions mo;
  auto engine = std::make_shared<cache::EngineConfig>();
  engine->pool.byte_cap = 8u << 20;
  engine->pool.kind = mem::PoolKind::kMalloc;
  mo.engine = engine;
  mo.flush_interval_s = 3600;  // nothing in the background while the state is checked

  std::vector<char> base = start_image;  // the image as of the current window's start
  uint64_t applied = 0;                  // entries applied to base
  uint64_t done = 0;
  for (uint64_t idx = 0; idx < ids.size(); ++idx) {
    if (o.only_index >= 0 && idx != uint64_t(o.only_index)) continue;
    const Window& w = windows[ids[idx].window];
    for (; applied < w.begin; ++applied)
      if (log[applied].type == io::LogEntry::kWrite)
        std::memcpy(base.data() + log[applied].offset, log[applied].data.data(), log[applied].data.size());

    StateDevice dev(base);
    std::vector<uint64_t> kept = kept_writes(w, ids[idx].subset, o.seed, idx);
    for (uint64_t i : kept) dev.put(log[i].offset, log[i].data.data(), log[i].data.size());
    if (!o.write_image.empty()) {
      if (int e = dev.dump(o.write_image); e < 0) {
        *msg = fmt::format("cannot write {}: {}", o.write_image, std::strerror(-e));
        return e;
      }
    }

    StateFailure f;
    f.index = idx;
    f.window = ids[idx].window;
    f.subset = ids[idx].subset;
    f.writes_kept = kept.size();
    f.writes_in_window = w.writes.size();
    bool loses = false;
    std::string m;
    auto mounted = fs::mount_filesystem(std::make_unique<io::BorrowedDevice>(dev), mo, &m);
    if (!mounted) {
      ++s.mount_failed;
      f.what.push_back(fmt::format("mount: {}", m.empty() ? std::strerror(-mounted.err()) : m));
      loses = true;
    } else {
      std::unique_ptr<fs::Filesystem> fsys = std::move(*mounted);
      FsView view(*fsys, rec.base);
      CheckCounts counts;
      for (const CheckFailure& cf : verifier.check(view, w.cut, &counts)) {
        classify(cf, &s);
        f.what.push_back("check: " + cf.text);
        if (cf.kind != CheckFailure::kUnexpected) loses = true;
      }
      s.checks += counts.checked;
      s.unchecked += counts.unchecked;
      if (int r = fsys->unmount(); r < 0) {
        ++s.unmount_failed;
        f.what.push_back(fmt::format("unmount: {}", std::strerror(-r)));
      }
    }
    fsck::CheckResult cr = fsck::check_filesystem(dev, fsck::CheckOptions{});
    if (cr.status == 0 && cr.problems.empty()) {
      ++s.fsck_clean;
    } else if (cr.status != 0) {
      f.what.push_back("fsck: " + cr.error);
    } else {
      for (const auto& p : cr.problems) f.what.push_back("fsck: " + p.text);
    }
    ++s.states;
    s.states_losing_data += loses;
    if (!f.what.empty()) {
      ++s.failed_states;
      s.failures.push_back(std::move(f));
    }
    ++done;
    if (o.progress) o.progress(done, o.only_index >= 0 ? 1 : ids.size());
  }
  *out = std::move(s);
  return 0;
}

}  // namespace chainfs::crashcheck
