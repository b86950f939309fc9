#include "tools/crashcheck/workload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <random>

namespace chainfs::crashcheck {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
const char* const kXattrNames[] = {"user.a", "user.b", "user.c"};

struct MInode {
  bool dir = false;
  std::string content;
  std::map<std::string, std::string> xattrs;
  int handle = -1;
  uint32_t nlink = 1;
  uint32_t content_slot = kNone;
  std::map<std::string, uint32_t> xattr_slots;
  bool alive() const { return !dir && (nlink > 0 || handle >= 0); }
};

class Runner {
 public:
  Runner(Target& t, const WorkloadOptions& o, DurabilityRecord& rec) : t_(t), o_(o), rec_(rec), rng_(o.seed) {}

  int run() {
    rec_.seed = o_.seed;
    rec_.dirs.push_back("");
    for (uint32_t d = 0; d < o_.dirs; ++d) {
      std::string dir = fmt::format("d{}", d);
      rec_.dirs.push_back(dir);
      name_slot(dir);
    }
    for (const std::string& dir : rec_.dirs)
      for (uint32_t n = 0; n < o_.names; ++n) files_.push_back(name_slot(dir.empty() ? fmt::format("f{}", n) : fmt::format("{}/f{}", dir, n)));
    for (uint32_t x = 0; x < o_.empty_dirs; ++x) empty_dirs_.push_back(name_slot(fmt::format("x{}", x)));
    for (uint32_t d = 0; d < o_.dirs; ++d)
      if (int r = mkdir(fmt::format("d{}", d)); r < 0) return r;
    if (int r = sync(); r < 0) return r;
    if (!o_.sync_is_durable)
      if (int r = fsyncdir(""); r < 0) return r;
    for (uint32_t i = 0; i < o_.ops; ++i)
      if (int r = step(); r < 0) return r;
    for (size_t m = 0; m < inodes_.size(); ++m)
      if (inodes_[m].handle >= 0)
        if (int r = close(m); r < 0) return r;
    return 0;
  }

 private:
  uint64_t rnd(uint64_t n) { return n ? rng_() % n : 0; }
  uint32_t slot_of(const std::string& path) const { return slot_index_.at(path); }
  const std::string& path_of(uint32_t slot) const { return rec_.slots[slot].path; }

  uint32_t name_slot(const std::string& path) {
    Slot s;
    s.kind = SlotKind::kName;
    s.path = path;
    uint32_t i = rec_.add_slot(std::move(s));
    slot_index_[path] = i;
    return i;
  }

  uint64_t new_inode(bool dir) {
    rec_.inodes.push_back(ModelInode{0, dir});
    inodes_.emplace_back();
    MInode& m = inodes_.back();
    m.dir = dir;
    if (!dir) {
      Slot s;
      s.kind = SlotKind::kContent;
      s.inode = inodes_.size() - 1;
      s.initial = content_value("");
      m.content_slot = rec_.add_slot(std::move(s));
    }
    return inodes_.size() - 1;
  }

  void begin(std::string desc) {
    rec_.ops.push_back(fmt::format("{} {}", rec_.ops.size(), desc));
    op_ = static_cast<uint32_t>(rec_.ops.size() - 1);
    start_ = t_.position();
    first_event_ = rec_.events.size();
  }
  void set(uint32_t slot, std::optional<std::string> v, bool over = false) {
    Event e;
    e.kind = Event::kSet;
    e.slot = slot;
    e.op = op_;
    e.value = std::move(v);
    e.rename_over = over;
    e.start = start_;
    rec_.events.push_back(std::move(e));
  }
  // Ends the operation: positions of its set events; on success, durable events for slots.
  int end(int r, const std::vector<uint32_t>& durable = {}) {
    uint64_t pos = t_.position();
    for (size_t i = first_event_; i < rec_.events.size(); ++i) rec_.events[i].end = pos;
    if (r < 0) {
      rec_.stopped = fmt::format("{}: {}", rec_.ops[op_], std::strerror(-r));
      return r;
    }
    for (uint32_t s : durable) {
      Event e;
      e.kind = Event::kDurable;
      e.slot = s;
      e.op = op_;
      e.start = start_;
      e.end = pos;
      rec_.events.push_back(std::move(e));
    }
    return 0;
  }

  std::string random_bytes(size_t n) {
    std::string s(n, '\0');
    uint64_t x = rng_();
    for (size_t i = 0; i < n; ++i) {
      if (i % 8 == 0) x = x * 6364136223846793005ull + 1442695040888963407ull;
      s[i] = static_cast<char>(x >> (8 * (i % 8)));
    }
    return s;
  }

  // A present name (file or directory) of the given kind from a slot list.
  std::vector<uint32_t> present(const std::vector<uint32_t>& slots, bool want_present) const {
    std::vector<uint32_t> out;
    for (uint32_t s : slots)
      if (names_.count(path_of(s)) == size_t(want_present)) out.push_back(s);
    return out;
  }
  uint32_t pick(const std::vector<uint32_t>& v) { return v.empty() ? kNone : v[rnd(v.size())]; }

  std::vector<uint64_t> alive_files() const {
    std::vector<uint64_t> out;
    for (size_t m = 0; m < inodes_.size(); ++m)
      if (inodes_[m].alive()) out.push_back(m);
    return out;
  }

  int ensure_open(uint64_t m) {
    if (inodes_[m].handle >= 0) return 0;
    for (const auto& [path, id] : names_)
      if (id == m) {
        begin("open " + path);
        uint64_t ino = 0;
        int h = -1;
        int r = t_.open(path, &h, &ino);
        if (r == 0) inodes_[m].handle = h;
        return end(r);
      }
    return -ENOENT;  // not reached: an alive inode that is not open has a name
  }

  std::string name_of(uint64_t m) const {
    for (const auto& [path, id] : names_)
      if (id == m) return path;
    return "(unlinked)";
  }

  // One content change of inode m through its handle.
  int content_op(uint64_t m, const std::string& desc, std::string next, const std::function<int(int)>& call) {
    if (int r = ensure_open(m); r < 0) return r;
    MInode& in = inodes_[m];
    begin(fmt::format("{} {} (inode {})", desc, name_of(m), rec_.inodes[m].ino));
    set(in.content_slot, content_value(next));
    in.content = std::move(next);
    return end(call(in.handle));
  }

  int mkdir(const std::string& path) {
    uint64_t m = new_inode(true);
    begin("mkdir " + path);
    set(slot_of(path), name_value(m));
    names_[path] = m;
    return end(t_.mkdir(path, &rec_.inodes[m].ino));
  }

  int sync() {
    begin("sync");
    std::vector<uint32_t> all(o_.sync_is_durable ? rec_.slots.size() : 0);
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    return end(t_.sync(), all);
  }

  // fsync of a directory: its names.
  int fsyncdir(const std::string& dir) {
    std::vector<uint32_t> d;
    for (uint32_t s = 0; s < rec_.slots.size(); ++s) {
      const Slot& sl = rec_.slots[s];
      if (sl.kind != SlotKind::kName) continue;
      size_t cut = sl.path.rfind('/');
      if ((cut == std::string::npos ? std::string() : sl.path.substr(0, cut)) == dir) d.push_back(s);
    }
    begin("fsyncdir /" + dir);
    return end(t_.fsyncdir(dir), d);
  }

  int close(uint64_t m) {
    MInode& in = inodes_[m];
    begin(fmt::format("close {} (inode {})", name_of(m), rec_.inodes[m].ino));
    int r = t_.close(in.handle);
    in.handle = -1;
    return end(r);
  }

  void drop_link(uint64_t m) {
    if (inodes_[m].nlink > 0) --inodes_[m].nlink;
  }

  int step() {
    static const int kWeights[] = {12, 18, 10, 5, 6, 8, 4, 6, 3, 3, 6, 2, 6, 3, 4, 2, 4};
    int total = 0;
    for (int w : kWeights) total += w;
    for (int attempt = 0; attempt < 20; ++attempt) {
      int x = static_cast<int>(rnd(total)), op = 0;
      while (x >= kWeights[op]) x -= kWeights[op++];
      int r = try_op(op);
      if (r != 1) return r;  // 1: not applicable now, choose again
    }
    return 0;
  }

  // 0 done, negative errno failed, 1 not applicable.
  int try_op(int op) {
    auto files = alive_files();
    switch (op) {
      case 0: {  // create
        uint32_t s = pick(present(files_, false));
        if (s == kNone) return 1;
        uint64_t m = new_inode(false);
        begin("create " + path_of(s));
        set(s, name_value(m));
        names_[path_of(s)] = m;
        int h = -1;
        int r = t_.create(path_of(s), &h, &rec_.inodes[m].ino);
        inodes_[m].handle = h;
        if (int e = end(r); e < 0) return e;
        if (rnd(2)) return write(m, 0);
        return 0;
      }
      case 1:  // overwrite
        if (files.empty()) return 1;
        return write(files[rnd(files.size())], 1);
      case 2:  // append
        if (files.empty()) return 1;
        return write(files[rnd(files.size())], 2);
      case 3: {  // truncate
        if (files.empty()) return 1;
        uint64_t m = files[rnd(files.size())];
        uint64_t size = rnd(o_.max_file);
        std::string next = inodes_[m].content;
        next.resize(size, '\0');
        return content_op(m, fmt::format("truncate {}", size), std::move(next),
                          [&](int h) { return t_.truncate(h, size); });
      }
      case 4: {  // fallocate
        if (files.empty()) return 1;
        uint64_t m = files[rnd(files.size())];
        static const int kModes[] = {0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                     FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE};
        int mode = kModes[rnd(5)];
        uint64_t off = 4096 * rnd(o_.max_file / 4096), len = 4096 * (1 + rnd(4));
        std::string next = inodes_[m].content;
        uint64_t size = next.size();
        if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > size) next.resize(off + len, '\0');
        if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
          for (uint64_t i = off; i < off + len && i < next.size(); ++i) next[i] = '\0';
        return content_op(m, fmt::format("fallocate mode {:#x} {}+{}", mode, off, len), std::move(next),
                          [&](int h) { return t_.fallocate(h, mode, off, len); });
      }
      case 5: {  // rename a file, over an existing one or to a free name
        uint32_t from = pick(present(files_, true));
        uint32_t to = pick(files_);
        if (from == kNone || to == from) return 1;
        uint64_t m = names_.at(path_of(from));
        auto old = names_.find(path_of(to));
        if (old != names_.end() && old->second == m) return 1;  // two links of one inode: a no-op
        bool over = old != names_.end();
        begin(fmt::format("rename {} -> {}{}", path_of(from), path_of(to), over ? " (over)" : ""));
        set(to, name_value(m), over);
        set(from, std::nullopt);
        if (over) drop_link(old->second);
        names_[path_of(to)] = m;
        names_.erase(path_of(from));
        return end(t_.rename(path_of(from), path_of(to)));
      }
      case 6: {  // hard link
        uint32_t from = pick(present(files_, true));
        uint32_t to = pick(present(files_, false));
        if (from == kNone || to == kNone) return 1;
        uint64_t m = names_.at(path_of(from));
        begin(fmt::format("link {} -> {}", path_of(from), path_of(to)));
        set(to, name_value(m));
        names_[path_of(to)] = m;
        ++inodes_[m].nlink;
        return end(t_.link(path_of(from), path_of(to)));
      }
      case 7: {  // unlink (the file may stay open and keep being written)
        uint32_t s = pick(present(files_, true));
        if (s == kNone) return 1;
        uint64_t m = names_.at(path_of(s));
        begin(fmt::format("unlink {}{}", path_of(s), inodes_[m].handle >= 0 ? " (open)" : ""));
        set(s, std::nullopt);
        names_.erase(path_of(s));
        drop_link(m);
        return end(t_.unlink(path_of(s)));
      }
      case 8: {  // mkdir
        uint32_t s = pick(present(empty_dirs_, false));
        if (s == kNone) return 1;
        return mkdir(path_of(s));
      }
      case 9: {  // rmdir
        uint32_t s = pick(present(empty_dirs_, true));
        if (s == kNone) return 1;
        begin("rmdir " + path_of(s));
        set(s, std::nullopt);
        names_.erase(path_of(s));
        return end(t_.rmdir(path_of(s)));
      }
      case 10: {  // setxattr
        if (files.empty()) return 1;
        uint64_t m = files[rnd(files.size())];
        if (int r = ensure_open(m); r < 0) return r;
        std::string name = kXattrNames[rnd(3)];
        std::string value = random_bytes(1 + rnd(rnd(4) ? 200 : 3000));
        MInode& in = inodes_[m];
        if (!in.xattr_slots.count(name)) {
          Slot s;
          s.kind = SlotKind::kXattr;
          s.inode = m;
          s.xattr = name;
          in.xattr_slots[name] = rec_.add_slot(std::move(s));
        }
        begin(fmt::format("setxattr {} {} ({} bytes)", name_of(m), name, value.size()));
        set(in.xattr_slots[name], value);
        in.xattrs[name] = value;
        return end(t_.setxattr(in.handle, name, value));
      }
      case 11: {  // removexattr
        std::vector<uint64_t> with;
        for (uint64_t m : files)
          if (!inodes_[m].xattrs.empty()) with.push_back(m);
        if (with.empty()) return 1;
        uint64_t m = with[rnd(with.size())];
        if (int r = ensure_open(m); r < 0) return r;
        MInode& in = inodes_[m];
        auto it = in.xattrs.begin();
        std::advance(it, rnd(in.xattrs.size()));
        std::string name = it->first;
        begin(fmt::format("removexattr {} {}", name_of(m), name));
        set(in.xattr_slots[name], std::nullopt);
        in.xattrs.erase(name);
        return end(t_.removexattr(in.handle, name));
      }
      case 12:
      case 13: {  // fsync, fdatasync
        if (files.empty()) return 1;
        uint64_t m = files[rnd(files.size())];
        if (int r = ensure_open(m); r < 0) return r;
        bool datasync = op == 13;
        MInode& in = inodes_[m];
        std::vector<uint32_t> d{in.content_slot};
        if (!datasync)
          for (const auto& [n, s] : in.xattr_slots) d.push_back(s);
        begin(fmt::format("{} {} (inode {})", datasync ? "fdatasync" : "fsync", name_of(m), rec_.inodes[m].ino));
        return end(t_.fsync(in.handle, datasync), d);
      }
      case 14:
        return fsyncdir(rec_.dirs[rnd(rec_.dirs.size())]);
      case 15:
        return sync();
      default: {  // close
        std::vector<uint64_t> open;
        for (size_t m = 0; m < inodes_.size(); ++m)
          if (inodes_[m].handle >= 0) open.push_back(m);
        if (open.empty()) return 1;
        return close(open[rnd(open.size())]);
      }
    }
  }

  // kind 0: the first data of a new file, 1: overwrite at a random offset, 2: append.
  int write(uint64_t m, int kind) {
    std::string next = inodes_[m].content;
    uint64_t len = 1 + rnd(rnd(3) ? 8192 : 20000);
    uint64_t off = kind == 2 ? next.size() : kind == 1 ? rnd(o_.max_file) : 0;
    if (off + len > o_.max_file) {
      if (off >= o_.max_file) off = rnd(o_.max_file / 2);
      len = std::max<uint64_t>(1, std::min<uint64_t>(len, o_.max_file - off));
    }
    std::string data = random_bytes(len);
    if (next.size() < off + len) next.resize(off + len, '\0');
    std::memcpy(next.data() + off, data.data(), len);
    return content_op(m, fmt::format("{} {}+{}", kind == 2 ? "append" : "write", off, len), std::move(next),
                      [&](int h) { return t_.pwrite(h, off, data); });
  }

  Target& t_;
  const WorkloadOptions& o_;
  DurabilityRecord& rec_;
  std::mt19937_64 rng_;
  std::vector<MInode> inodes_;
  std::map<std::string, uint32_t> slot_index_;
  std::map<std::string, uint64_t> names_;  // present names -> model inode
  std::vector<uint32_t> files_, empty_dirs_;
  uint32_t op_ = 0;
  uint64_t start_ = 0;
  size_t first_event_ = 0;
};

}  // namespace

int run_workload(Target& t, const WorkloadOptions& o, DurabilityRecord* rec) {
  Runner r(t, o, *rec);
  return r.run();
}

}  // namespace chainfs::crashcheck
