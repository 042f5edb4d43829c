#include "edge_bench/sides.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <utility>

#include "edge/common/allocator.h"
#include "support/sample_stats.h"

namespace edge::bench::edge_bench {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// Runs `rounds` rounds of `request` on every side in `sides` (rotating the order, starting
// at `first`), after `warmup` unreported rounds; appends `key` of each answer to `out(side)`
// and keeps each side's largest peak memory of the phase in `peak(side)`.
template <class Out, class Peak>
void run_phase(std::vector<Side*> sides, const std::string& request, const std::string& key, int warmup, int rounds,
               size_t first, Out out, Peak peak) {
  for (Side* s : sides) s->worker->request("peak");  // resets VmHWM
  const size_t n = sides.size();
  for (int r = 0; r < warmup + rounds; ++r) {
    for (size_t i = 0; i < n; ++i) {
      Side* s = sides[(i + first + size_t(r)) % n];
      const json answer = s->worker->request(request);
      if (r >= warmup) out(*s).push_back(answer.at(key).get<double>());
      s->last[request] = answer;
    }
    std::cerr << fmt::format("bench_edge: {} round {}/{} done\n", request, r + 1, warmup + rounds);
  }
  for (Side* s : sides) {
    const double mb = s->worker->request("peak").at("mb").get<double>();
    if (!(peak(*s) >= mb)) peak(*s) = mb;  // also replaces the initial NaN
  }
}

}  // namespace

const Side* find_side(const std::vector<Side>& sides, const std::string& name) {
  for (const Side& s : sides)
    if (s.name == name) return &s;
  return nullptr;
}

Side* find_side(std::vector<Side>& sides, const std::string& name) {
  return const_cast<Side*>(find_side(std::as_const(sides), name));
}

double gemm_gflops(torch::ScalarType dtype) {
  constexpr int64_t n = 2048;
  const torch::Tensor a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  double best = 0.0, spent = 0.0;
  for (int call = 0, timed = 0; timed < 5 && spent < 2.0; ++call) {
    const auto t0 = Clock::now();
    torch::Tensor c;
    try {
      c = torch::mm(a, b);
    } catch (const std::exception&) {  // dnnl::error, not c10::Error
      return std::nan("");
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    spent += s;
    if (call == 0 && s < 0.5) continue;
    ++timed;
    best = std::max(best, 2.0 * double(n) * double(n) * double(n) / s / 1e9);
  }
  return best;
}

std::string peer_allocator_env() {
  const std::string ours = fmt::format("glibc.malloc.trim_threshold={}:glibc.malloc.mmap_threshold={}",
                                       edge::kTrimThresholdBytes, edge::kMmapThresholdBytes);
  const char* user = std::getenv("GLIBC_TUNABLES");
  return "GLIBC_TUNABLES=" + (user && *user ? std::string(user) + ":" + ours : ours);
}

namespace {

// The race of edge_peer.py's training configurations in one process under the peer allocator
// setting; its answer: images/s per config, rounds each ran, failures and the fastest ("best").
json calibrate_peers(const Options& o, const std::filesystem::path& spec_file, const std::string& alloc_env) {
  std::cerr << "bench_edge: calibrating the PyTorch training configurations\n";
  edge::bench::WorkerProcess calibration("calibrate", {o.python, o.peer, spec_file.string(), "calibrate"},
                                         {alloc_env});
  return calibration.request("calibrate");
}

}  // namespace

void check_metric_values(std::vector<Side>& sides) {
  const Side *e = find_side(sides, "edge"), *off = find_side(sides, "official"), *best = find_side(sides, "best");
  if (!off || !off->last.count("metrics")) return;
  const json& ref = off->last.at("metrics").at("values");
  const auto differ = [&](const Side* s, const std::vector<std::string>& keys, double tol) {
    if (!s || !s->last.count("metrics")) return false;
    const json& v = s->last.at("metrics").at("values");
    for (const auto& k : keys)
      if (std::fabs(v.at(k).get<double>() - ref.at(k).get<double>()) > tol) return true;
    return false;
  };
  if (differ(e, {"auroc", "aupr_in"}, 1e-9) || differ(best, {"auroc", "aupr_in", "fpr95_roc"}, 1e-12))
    throw std::runtime_error(fmt::format("metrics disagree with sklearn: edge {}, numpy {}, sklearn {}",
                                         e ? e->last.at("metrics").dump() : "-",
                                         best ? best->last.at("metrics").dump() : "-", ref.dump()));
}

void run_session(const Options& o, std::vector<Side>& sides, int session, RunInfo& info) {
  std::cerr << fmt::format("bench_edge: session {}/{}: starting the workers\n", session + 1, o.sessions);
  std::vector<Side*> all, metric_sides;
  for (Side& s : sides) {
    s.worker = std::make_unique<edge::bench::WorkerProcess>(s.name, s.argv, s.env);
    all.push_back(&s);
    if (s.name != "edge fp32") metric_sides.push_back(&s);
  }
  Side* off = find_side(sides, "official");
  Side* best = find_side(sides, "best");
  if (session == 0 && off) {
    const json peer = off->worker->request("info");
    info.fwd_flops = peer.at("forward_flops_per_image").get<double>();
    info.versions += fmt::format(" | PyTorch {}, scikit-learn {}, NumPy {} ({})",
                                 peer.at("torch_version").get<std::string>(),
                                 peer.at("sklearn_version").get<std::string>(),
                                 peer.at("numpy_version").get<std::string>(), o.python);
  }
  const size_t first = size_t(session);
  run_phase(all, "train", "img_s", 1, o.repeats, first, [](Side& s) -> auto& { return s.train; },
            [](Side& s) -> double& { return s.train_mb; });
  for (Side& s : sides)
    s.session_train.push_back(
        edge::bench::sample_stats(std::vector<double>(s.train.end() - o.repeats, s.train.end())).median);
  run_phase(all, "eval", "img_s", 1, o.repeats, first, [](Side& s) -> auto& { return s.eval; },
            [](Side& s) -> double& { return s.eval_mb; });
  if (best) info.frozen.push_back(best->last.at("eval").value("frozen", json()));
  // The metrics' repeats are spread over the sessions (single-threaded, little to vary).
  const int metric_rounds = o.metric_repeats / o.sessions + (session < o.metric_repeats % o.sessions ? 1 : 0);
  if (metric_rounds > 0)
    run_phase(metric_sides, "metrics", "s", 0, metric_rounds, first, [](Side& s) -> auto& { return s.metrics; },
              [](Side& s) -> double& { return s.metrics_mb; });
  // After every measured phase, so that sklearn's run in the best peer's process leaves its
  // timings and peak memory alone.
  if (best && session == o.sessions - 1) info.verify = best->worker->request("verify");
  for (Side& s : sides) s.worker.reset();  // quit
}

std::vector<Side> make_sides(const Options& o, const std::filesystem::path& spec_file, RunInfo& info) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<Side> sides;
  sides.push_back(Side{"edge", {self, "--worker", "edge", "--spec", spec_file.string()}, {}, o.precision});
  if (o.reference && !(o.precision == "fp32" && !o.channels_last))
    sides.push_back(Side{"edge fp32", {self, "--worker", "edge-fp32", "--spec", spec_file.string()}, {}, "fp32"});
  if (o.python.empty()) return sides;
  sides.push_back(Side{"official", {o.python, o.peer, spec_file.string(), "official"}, {}, "fp32"});
  const std::string alloc = peer_allocator_env();
  info.calibration = calibrate_peers(o, spec_file, alloc);
  const std::string best = info.calibration.at("best").get<std::string>();
  sides.push_back(Side{"best", {o.python, o.peer, spec_file.string(), "best", best}, {alloc},
                       best.rfind("bf16", 0) == 0 ? "bf16" : "fp32"});
  return sides;
}

}  // namespace edge::bench::edge_bench
