#include "tools/crashcheck/record.h"

#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>

namespace chainfs::crashcheck {

std::string content_value(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{}:{:016x}", bytes.size(), h);
}

std::string name_value(uint64_t inode) { return fmt::format("i{}", inode); }

bool parse_name_value(const std::string& v, uint64_t* inode) {
  if (v.size() < 2 || v[0] != 'i') return false;
  try {
    *inode = std::stoull(v.substr(1));
  } catch (...) {
    return false;
  }
  return true;
}

namespace {

// Values are hex in the file (xattr values are arbitrary bytes; JSON strings are UTF-8).
nlohmann::json opt(const std::optional<std::string>& v) {
  if (!v) return nlohmann::json();
  std::string h;
  for (unsigned char c : *v) h += fmt::format("{:02x}", c);
  return h;
}
std::optional<std::string> opt(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  std::string h = j.get<std::string>();
  if (h.size() % 2) throw std::invalid_argument("odd hex value");
  std::string v;
  for (size_t i = 0; i < h.size(); i += 2) v += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return v;
}

}  // namespace

int save_record(const DurabilityRecord& r, const std::string& path) {
  nlohmann::json j;
  j["pos_unit"] = r.pos_unit;
  j["base"] = r.base;
  j["seed"] = r.seed;
  j["stopped"] = r.stopped;
  j["dirs"] = r.dirs;
  j["ops"] = r.ops;
  auto& slots = j["slots"] = nlohmann::json::array();
  for (const Slot& s : r.slots)
    slots.push_back({{"kind", static_cast<int>(s.kind)}, {"path", s.path}, {"inode", s.inode},
                     {"xattr", s.xattr}, {"initial", opt(s.initial)}});
  auto& inodes = j["inodes"] = nlohmann::json::array();
  for (const ModelInode& m : r.inodes) inodes.push_back({{"ino", m.ino}, {"dir", m.dir}});
  auto& events = j["events"] = nlohmann::json::array();
  for (const Event& e : r.events)
    events.push_back({{"kind", static_cast<int>(e.kind)}, {"slot", e.slot}, {"op", e.op}, {"value", opt(e.value)},
                      {"rename_over", e.rename_over}, {"start", e.start}, {"end", e.end}});
  std::ofstream f(path, std::ios::trunc);
  if (!f) return errno ? -errno : -EIO;
  f << j.dump() << '\n';
  f.close();
  return f ? 0 : -EIO;
}

int load_record(const std::string& path, DurabilityRecord* r, std::string* msg) {
  std::ifstream f(path);
  if (!f) return errno ? -errno : -ENOENT;
  try {
    nlohmann::json j = nlohmann::json::parse(f);
    DurabilityRecord out;
    out.pos_unit = j.at("pos_unit").get<std::string>();
    out.base = j.at("base").get<std::string>();
    out.seed = j.at("seed").get<uint64_t>();
    out.stopped = j.at("stopped").get<std::string>();
    out.dirs = j.at("dirs").get<std::vector<std::string>>();
    out.ops = j.at("ops").get<std::vector<std::string>>();
    for (const auto& s : j.at("slots"))
      out.slots.push_back(Slot{static_cast<SlotKind>(s.at("kind").get<int>()), s.at("path").get<std::string>(),
                               s.at("inode").get<uint64_t>(), s.at("xattr").get<std::string>(), opt(s.at("initial"))});
    for (const auto& m : j.at("inodes")) out.inodes.push_back(ModelInode{m.at("ino").get<uint64_t>(), m.at("dir").get<bool>()});
    for (const auto& e : j.at("events")) {
      Event ev;
      ev.kind = static_cast<Event::Kind>(e.at("kind").get<int>());
      ev.slot = e.at("slot").get<uint32_t>();
      ev.op = e.at("op").get<uint32_t>();
      ev.value = opt(e.at("value"));
      ev.rename_over = e.at("rename_over").get<bool>();
      ev.start = e.at("start").get<uint64_t>();
      ev.end = e.at("end").get<uint64_t>();
      if (ev.slot >= out.slots.size() || ev.op >= out.ops.size()) throw std::out_of_range("event slot/op");
      out.events.push_back(std::move(ev));
    }
    *r = std::move(out);
    return 0;
  } catch (const std::exception& e) {
    *msg = path + ": not a durability record: " + e.what();
    return -EINVAL;
  }
}

}  // namespace chainfs::crashcheck
