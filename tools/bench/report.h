#pragma once
// The outputs of a run: the terminal table, bench.csv, bench.json (nlohmann-json), and the
// gnuplot script with its PNG charts (skipped with a message when gnuplot is missing).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/cell.h"

namespace chainfs::bench {

// Sets each cell's ratio_to_raw from the raw reference cell of the comparable workload.
void compute_ratios(std::vector<Cell>* cells);

void print_table(std::FILE* out, const std::vector<Cell>& cells);
std::string to_csv(const std::vector<Cell>& cells);
nlohmann::json to_json(const std::vector<Cell>& cells, const nlohmann::json& run_info);

// Writes DIR/bench.gp and DIR/bench.dat and runs gnuplot for DIR/bench-throughput.png and
// DIR/bench-reqsize.png. Returns "" or the reason the charts were not made.
std::string write_charts(const std::string& dir, const std::vector<Cell>& cells);

}  // namespace chainfs::bench
