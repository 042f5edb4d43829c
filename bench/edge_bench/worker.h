// The worker process of one of bench_edge's own sides ("edge", "edge-fp32").
#pragma once

#include "edge_bench/options.h"

namespace edge::bench::edge_bench {

// Answers the coordinator's requests (info, train, eval, metrics, peak) until it quits; 0.
int run_worker(const Options& o);

}  // namespace edge::bench::edge_bench
