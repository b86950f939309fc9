#include "tools/stat/stat_format.h"

#include <fmt/format.h>

#include <string_view>

namespace chainfs::stat {

namespace {

bool is_size_key(std::string_view k) {
  return k.find("bytes") != std::string_view::npos || k == "cache_size" || k == "dirty_limit" ||
         k == "max_request" || k == "byte_cap";
}

std::string value_text(std::string_view key, const nlohmann::json& v, bool latency) {
  if (v.is_number()) {
    double d = v.get<double>();
    if (latency) return fmt::format("{:.1f} us", d / 1000.0);
    if (is_size_key(key)) return human_bytes(d);
    if (v.is_number_float()) return fmt::format("{:.2f}", d);
    return fmt::format("{}", v.get<int64_t>());
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void render(std::string& out, const nlohmann::json& obj, int depth, bool latency) {
  size_t width = 0;
  for (auto& [k, v] : obj.items())
    if (!v.is_object()) width = std::max(width, k.size());
  std::string pad(static_cast<size_t>(depth) * 2, ' ');
  for (auto& [k, v] : obj.items()) {
    if (v.is_object()) {
      out += fmt::format("{}{}:\n", pad, k);
      render(out, v, depth + 1, latency || k.find("latency") != std::string::npos);
    } else {
      out += fmt::format("{}{:<{}}  {}\n", pad, k, width, value_text(k, v, latency));
    }
  }
}

uint64_t u(const nlohmann::json& doc, std::initializer_list<const char*> path) {
  const nlohmann::json* j = &doc;
  for (const char* p : path) {
    if (!j->is_object() || !j->contains(p)) return 0;
    j = &(*j)[p];
  }
  return j->is_number() ? j->get<uint64_t>() : 0;
}

}  // namespace

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024.0 && i < 4) {
    b /= 1024.0;
    ++i;
  }
  return i == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[i]);
}

std::string format_summary(const nlohmann::json& doc) {
  std::string out;
  if (doc.contains("options") && doc["options"].is_object()) {
    auto& o = doc["options"];
    auto s = [&](const char* k) { return o.contains(k) ? value_text(k, o[k], false) : std::string("?"); };
    out += fmt::format("strategies   write={} read={} page_alloc={} cache_size={}\n", s("write_strategy"),
                       s("read_strategy"), s("page_alloc"), s("cache_size"));
  }
  uint64_t wsub = u(doc, {"device", "write_submissions"}), wbytes = u(doc, {"device", "write_bytes"});
  uint64_t rsub = u(doc, {"device", "read_submissions"}), rbytes = u(doc, {"device", "read_bytes"});
  out += fmt::format("device       writes {} ({}, avg {})   reads {} ({}, avg {})\n", wsub, human_bytes(double(wbytes)),
                     human_bytes(wsub ? double(wbytes) / double(wsub) : 0.0), rsub, human_bytes(double(rbytes)),
                     human_bytes(rsub ? double(rbytes) / double(rsub) : 0.0));
  uint64_t hits = u(doc, {"cache", "hits"}), misses = u(doc, {"cache", "misses"});
  out += fmt::format("cache        pages {}  dirty {}  writeback {}  hit rate {:.1f}%  evictions {}\n",
                     u(doc, {"cache", "pages"}), u(doc, {"cache", "dirty_pages"}), u(doc, {"cache", "writeback_pages"}),
                     hits + misses ? 100.0 * double(hits) / double(hits + misses) : 0.0, u(doc, {"cache", "evictions"}));
  return out;
}

std::string format_document(const nlohmann::json& doc) {
  std::string out = format_summary(doc);
  out += "\n";
  if (doc.is_object()) render(out, doc, 0, false);
  return out;
}

}  // namespace chainfs::stat
