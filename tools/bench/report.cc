#include "tools/bench/report.h"

#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "tools/bench/system.h"

namespace chainfs::bench {

namespace {

// The raw workload an engine or filesystem workload is compared with.
std::string raw_peer(const std::string& w) {
  if (w == "engine-write-8k") return "seq-write-8k";
  if (w == "engine-read-128k") return "seq-read-1m";
  return w;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string fmt_num(double v) {
  if (v >= 100) return fmt::format("{:.0f}", v);
  if (v >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

}  // namespace

void compute_ratios(std::vector<Cell>* cells) {
  std::map<std::string, double> raw;
  for (const Cell& c : *cells)
    if (c.target == "raw" && c.status == "ok") raw[c.workload] = c.value;
  for (Cell& c : *cells) {
    auto it = raw.find(raw_peer(c.workload));
    c.ratio_to_raw = c.status == "ok" && it != raw.end() && it->second > 0 ? c.value / it->second : 0;
  }
}

void print_table(std::FILE* out, const std::vector<Cell>& cells) {
  fmt::print(out, "{:<31} {:<17} {:>10} {:<5} {:>8} {:>9} {:>9} {:>9} {:>8} {:>6}\n", "target", "workload", "value",
             "unit", "dev KiB", "CPU s/GiB", "CPU us/op", "vol cs", "RSS MiB", "x raw");
  for (const Cell& c : cells) {
    if (c.status != "ok") {
      fmt::print(out, "{:<31} {:<17} {}: {}\n", c.target, c.workload, c.status, c.reason);
      continue;
    }
    fmt::print(out, "{:<31} {:<17} {:>10} {:<5} {:>8} {:>9} {:>9} {:>9.0f} {:>8.1f} {:>6}\n", c.target, c.workload,
               fmt_num(c.value), c.unit, c.have_dev ? fmt_num(c.dev_avg_kib) : "-",
               c.unit == "MB/s" ? fmt_num(c.cpu_s_per_gib) : "-", fmt_num(c.cpu_us_per_op), c.vol_ctxt,
               c.peak_rss_mib, c.ratio_to_raw > 0 ? fmt::format("{:.2f}", c.ratio_to_raw) : "-");
  }
}

std::string to_csv(const std::vector<Cell>& cells) {
  std::string s =
      "level,target,options,workload,status,reason,unit,value,seconds,reps,dev_avg_kib,cpu_s_per_gib,"
      "cpu_us_per_op,vol_ctxt_switches,peak_rss_mib,ratio_to_raw\n";
  for (const Cell& c : cells)
    s += fmt::format("{},{},{},{},{},{},{},{:.3f},{:.4f},{},{:.2f},{:.4f},{:.3f},{:.0f},{:.2f},{:.4f}\n", c.level,
                     csv_field(c.target), csv_field(c.options), c.workload, c.status, csv_field(c.reason), c.unit,
                     c.value, c.seconds, c.reps.size(), c.dev_avg_kib, c.cpu_s_per_gib, c.cpu_us_per_op, c.vol_ctxt,
                     c.peak_rss_mib, c.ratio_to_raw);
  return s;
}

nlohmann::json to_json(const std::vector<Cell>& cells, const nlohmann::json& run_info) {
  nlohmann::json j;
  j["run"] = run_info;
  j["cells"] = nlohmann::json::array();
  for (const Cell& c : cells) {
    nlohmann::json e{{"level", c.level},   {"target", c.target}, {"options", c.options},
                     {"workload", c.workload}, {"status", c.status}, {"unit", c.unit}};
    if (!c.reason.empty()) e["reason"] = c.reason;
    if (c.status == "ok") {
      e["median"] = {{"value", c.value},
                     {"seconds", c.seconds},
                     {"cpu_s_per_gib", c.unit == "MB/s" ? nlohmann::json(c.cpu_s_per_gib) : nlohmann::json()},
                     {"cpu_us_per_op", c.cpu_us_per_op},
                     {"vol_ctxt_switches", c.vol_ctxt},
                     {"peak_rss_mib", c.peak_rss_mib},
                     {"dev_avg_kib", c.have_dev ? nlohmann::json(c.dev_avg_kib) : nlohmann::json()},
                     {"ratio_to_raw", c.ratio_to_raw > 0 ? nlohmann::json(c.ratio_to_raw) : nlohmann::json()}};
    }
    e["reps"] = nlohmann::json::array();
    for (const Sample& s : c.reps) {
      nlohmann::json r{{"seconds", s.seconds},     {"bytes", s.bytes},          {"ops", s.ops},
                       {"cpu_seconds", s.cpu_seconds}, {"vol_ctxt_switches", s.vol_ctxt},
                       {"peak_rss_kib", s.peak_rss_kib}};
      if (s.have_dev)
        r["device"] = {{"read_ios", s.dev.read_ios},     {"read_sectors", s.dev.read_sectors},
                       {"write_ios", s.dev.write_ios},   {"write_sectors", s.dev.write_sectors},
                       {"flush_ios", s.dev.flush_ios}};
      e["reps"].push_back(r);
    }
    j["cells"].push_back(e);
  }
  return j;
}

std::string write_charts(const std::string& dir, const std::vector<Cell>& cells) {
  // One gnuplot data block per workload ("index" in gnuplot): target, value, device KiB.
  std::vector<std::string> workloads;
  std::map<std::string, std::vector<const Cell*>> by;
  for (const Cell& c : cells) {
    if (c.status != "ok") continue;
    if (!by.count(c.workload)) workloads.push_back(c.workload);
    by[c.workload].push_back(&c);
  }
  if (workloads.empty()) return "no cell ran";
  std::ofstream dat(dir + "/bench.dat");
  for (const std::string& w : workloads) {
    dat << "# " << w << "\n";
    for (const Cell* c : by[w]) {
      // Short labels: the panel title already says engine or workload.
      std::string label = c->target;
      if (label.rfind("engine ", 0) == 0) label = label.substr(7);
      if (label.rfind("chainfs ", 0) == 0) label = "cfs " + label.substr(8);
      for (char& ch : label)
        if (ch == '"') ch = '\'';
      dat << fmt::format("\"{}\" {:.3f} {:.2f}\n", label, c->value, c->dev_avg_kib);
    }
    dat << "\n\n";
  }
  dat.close();
  size_t n = workloads.size();
  size_t cols = n > 4 ? 4 : n, rows = (n + cols - 1) / cols;
  std::ofstream gp(dir + "/bench.gp");
  gp << "# chainfs-bench charts; run: gnuplot bench.gp (in this directory)\n";
  gp << "set style fill solid 0.6 border -1\nset boxwidth 0.7\nset xtics rotate by -60 font ',7'\n"
        "set grid ytics\nunset key\nset yrange [0:*]\n";
  for (int chart = 0; chart < 2; ++chart) {
    gp << fmt::format("set terminal pngcairo noenhanced size {},{} font ',9'\n", 420 * cols, 380 * rows);
    gp << "set output '" << (chart == 0 ? "bench-throughput.png" : "bench-reqsize.png") << "'\n";
    gp << fmt::format("set multiplot layout {},{} title '{}'\n", rows, cols,
                      chart == 0 ? "chainfs-bench: throughput (median)" : "chainfs-bench: average device request (KiB)");
    for (size_t i = 0; i < n; ++i) {
      std::string unit = chart == 0 ? by[workloads[i]].front()->unit : "KiB";
      gp << fmt::format("set title '{} ({})'\n", workloads[i], unit);
      gp << fmt::format("plot 'bench.dat' index {} using 0:{}:xtic(1) with boxes\n", i, chart == 0 ? 2 : 3);
    }
    gp << "unset multiplot\n";
  }
  gp.close();
  std::string gnuplot = find_program("gnuplot", {});
  if (gnuplot.empty()) return "gnuplot is not installed (apt-get install gnuplot-nox); bench.gp is ready for it";
  CommandResult r = run_command({"sh", "-c", "cd '" + dir + "' && '" + gnuplot + "' bench.gp"}, 120);
  if (r.status != 0) return fmt::format("gnuplot failed ({}): {}", r.status, r.out);
  return {};
}

}  // namespace chainfs::bench
