#pragma once
// Rendering of a chainfs statistics document (the `-o stats=PATH` file) for people: one
// summary block with the figures the strategies are compared by, then every section as
// aligned "key  value" lines, sizes in KiB/MiB/GiB and latencies in microseconds.
#include <nlohmann/json.hpp>
#include <string>

namespace chainfs::stat {

std::string format_summary(const nlohmann::json& doc);
std::string format_document(const nlohmann::json& doc);
// "512 B", "4.0 KiB", "1.25 MiB", ...
std::string human_bytes(double bytes);

}  // namespace chainfs::stat
