#include "tools/crashcheck/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace chainfs::crashcheck {

namespace {

std::string show(const std::optional<std::string>& v) { return v ? *v : std::string("absent"); }

// What a slot may show, for messages: "i3", "absent or i3", "anything" (no durable value).
std::string show(const std::vector<std::optional<std::string>>& values) {
  if (values.empty()) return "anything (nothing durable yet)";
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " or ") + show(v);
  return out;
}

std::string parent_dir(const std::string& path) {
  size_t s = path.rfind('/');
  return s == std::string::npos ? std::string() : path.substr(0, s);
}

std::string leaf(const std::string& path) {
  size_t s = path.rfind('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

}  // namespace

bool Verifier::Allowed::has(const std::optional<std::string>& v) const {
  for (const auto& a : values)
    if (a == v) return true;
  return false;
}

Verifier::Verifier(const DurabilityRecord& rec) : rec_(rec) {
  by_slot_.resize(rec.slots.size());
  for (uint32_t i = 0; i < rec.events.size(); ++i) by_slot_[rec.events[i].slot].push_back(i);
  content_slot_.assign(rec.inodes.size(), UINT32_MAX);
  xattr_slots_.resize(rec.inodes.size());
  for (uint32_t s = 0; s < rec.slots.size(); ++s) {
    const Slot& sl = rec.slots[s];
    if (sl.kind == SlotKind::kName) name_slots_.push_back(s);
    if (sl.inode >= rec.inodes.size()) continue;
    if (sl.kind == SlotKind::kContent) content_slot_[sl.inode] = s;
    if (sl.kind == SlotKind::kXattr) xattr_slots_[sl.inode].push_back(s);
  }
}

Verifier::Allowed Verifier::allowed(uint32_t slot, uint64_t cut) const {
  Allowed a;
  const auto& evs = by_slot_[slot];
  // The last durable event that counts (positions grow along the workload's order).
  size_t d = SIZE_MAX;
  for (size_t i = 0; i < evs.size(); ++i) {
    const Event& e = rec_.events[evs[i]];
    if (e.kind == Event::kDurable && e.end <= cut) d = i;
  }
  if (d == SIZE_MAX) return a;
  a.known = true;
  std::optional<std::string> cur = rec_.slots[slot].initial;
  bool cur_rename = false;
  for (size_t i = 0; i < d; ++i) {
    const Event& e = rec_.events[evs[i]];
    if (e.kind == Event::kSet) {
      cur = e.value;
      cur_rename = e.rename_over;
    }
  }
  a.values.push_back(cur);
  a.rename_over = cur_rename;
  for (size_t i = d + 1; i < evs.size(); ++i) {
    const Event& e = rec_.events[evs[i]];
    if (e.kind != Event::kSet || e.start >= cut) continue;
    if (!a.has(e.value)) a.values.push_back(e.value);
    a.rename_over |= e.rename_over;
  }
  return a;
}

std::vector<uint64_t> Verifier::candidates(uint32_t slot, uint64_t cut) const {
  std::vector<uint64_t> out;
  uint64_t m;
  if (rec_.slots[slot].initial && parse_name_value(*rec_.slots[slot].initial, &m)) out.push_back(m);
  for (uint32_t i : by_slot_[slot]) {
    const Event& e = rec_.events[i];
    if (e.kind == Event::kSet && e.start < cut && e.value && parse_name_value(*e.value, &m)) out.push_back(m);
  }
  return out;
}

std::vector<CheckFailure> Verifier::check(View& view, uint64_t cut, CheckCounts* counts) const {
  std::vector<CheckFailure> fails;
  auto fail = [&](CheckFailure::Kind k, std::string t) { fails.push_back({k, std::move(t)}); };
  auto count = [&](bool checked) { (checked ? counts->checked : counts->unchecked)++; };
  std::map<uint64_t, std::string> reached;  // model inode -> a path that leads to it
  std::set<uint64_t> ambiguous;

  for (uint32_t s : name_slots_) {
    const std::string& path = rec_.slots[s].path;
    Allowed a = allowed(s, cut);
    count(a.known);
    View::Node n;
    int r = view.lookup(path, &n);
    if (r == -ENOENT) {
      if (a.known && !a.has(std::nullopt))
        fail(a.rename_over ? CheckFailure::kRenameNeither : CheckFailure::kNameLost,
             fmt::format("{}: missing, expected {}", path, show(a.values)));
      continue;
    }
    if (r < 0) {
      // Unreadable (a corrupt entry or inode): a durable name that gives no file is lost.
      CheckFailure::Kind k = !a.known || a.has(std::nullopt) ? CheckFailure::kError
                             : a.rename_over                 ? CheckFailure::kRenameNeither
                                                             : CheckFailure::kNameLost;
      fail(k, fmt::format("{}: lookup: {}, expected {}", path, std::strerror(-r), show(a.values)));
      continue;
    }
    // Which model inodes the name may point to and this one is.
    std::vector<uint64_t> match;
    for (uint64_t m : candidates(s, cut))
      if (rec_.inodes[m].ino == n.ino && rec_.inodes[m].dir == n.dir &&
          std::find(match.begin(), match.end(), m) == match.end())
        match.push_back(m);
    if (a.known) {
      bool ok = false;
      for (const auto& v : a.values) {
        uint64_t m;
        if (v && parse_name_value(*v, &m) && rec_.inodes[m].ino == n.ino && rec_.inodes[m].dir == n.dir) ok = true;
      }
      if (!ok) {
        bool only_absent = a.values.size() == 1 && !a.values[0];
        fail(only_absent ? CheckFailure::kNameBack : CheckFailure::kNameWrong,
             fmt::format("{}: inode {}{}, expected {}", path, n.ino, n.dir ? " (dir)" : "", show(a.values)));
        continue;
      }
    }
    if (match.size() == 1) {
      if (reached.count(match[0]) == 0) reached[match[0]] = path;
    } else {
      for (uint64_t m : match) ambiguous.insert(m);
    }
  }

  for (const auto& [m, path] : reached) {
    if (ambiguous.count(m) || rec_.inodes[m].dir) continue;
    if (uint32_t cs = content_slot_[m]; cs != UINT32_MAX) {
      Allowed a = allowed(cs, cut);
      bool exact = a.known && a.values.size() == 1;
      count(exact);
      if (exact) {
        std::string bytes;
        if (int r = view.read_all(path, &bytes); r < 0)
          fail(CheckFailure::kError, fmt::format("{}: read: {}", path, std::strerror(-r)));
        else if (std::optional<std::string> got = content_value(bytes); got != a.values[0])
          fail(CheckFailure::kContent, fmt::format("{} (inode {}): content {}, expected {}", path,
                                                   rec_.inodes[m].ino, *got, show(a.values[0])));
      }
    }
    for (uint32_t xs : xattr_slots_[m]) {
      Allowed a = allowed(xs, cut);
      count(a.known);
      if (!a.known) continue;
      std::optional<std::string> v;
      const std::string& name = rec_.slots[xs].xattr;
      if (int r = view.getxattr(path, name, &v); r < 0)
        fail(CheckFailure::kError, fmt::format("{}: getxattr {}: {}", path, name, std::strerror(-r)));
      else if (!a.has(v))
        fail(CheckFailure::kXattr, fmt::format("{} (inode {}): xattr {} = {}, expected {}", path, rec_.inodes[m].ino,
                                               name, v ? fmt::format("{} bytes", v->size()) : "absent",
                                               a.values[0] ? fmt::format("{} bytes", a.values[0]->size()) : "absent"));
    }
  }

  for (const std::string& dir : rec_.dirs) {
    std::set<std::string> known;
    for (uint32_t s : name_slots_)
      if (parent_dir(rec_.slots[s].path) == dir) known.insert(leaf(rec_.slots[s].path));
    std::vector<std::string> names;
    int r = view.list(dir, &names);
    if (r == -ENOENT) continue;  // the directory's own name slot says whether that is right
    if (r < 0) {
      fail(CheckFailure::kError, fmt::format("/{}: readdir: {}", dir, std::strerror(-r)));
      continue;
    }
    for (const auto& n : names)
      if (!known.count(n)) fail(CheckFailure::kUnexpected, fmt::format("/{}: unexpected entry \"{}\"", dir, n));
  }
  return fails;
}

}  // namespace chainfs::crashcheck
