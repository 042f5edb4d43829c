// bench_edge's report: the header, the table of the sides, how the best peer was chosen, the
// FLOP rates, the ratios and the --scale table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edge_bench/options.h"
#include "edge_bench/sides.h"

namespace edge::bench::edge_bench {

void print_header(const Options& o, const RunInfo& info, const std::string& edge_mode);
void print_table(const std::vector<Side>& sides);
// How the best peer was chosen: the training race, the frozen model's layout race and score
// check, and numpy's agreement with sklearn.
void print_peer_choices(const RunInfo& info);
// Sustained training and evaluation GFLOP/s of each side against the measured GEMM peak of its
// precision, and what 1.5x the best peer would take.
void print_flops(const Options& o, const std::vector<Side>& sides, const RunInfo& info);
// The per-round ratios of `edge` against the peers; prints them and returns the last line.
std::string print_ratios(std::vector<Side>& sides);
// --scale: this project alone, in this process, after the workers have ended.
void print_scale(const Options& o, int64_t n_train);

}  // namespace edge::bench::edge_bench
