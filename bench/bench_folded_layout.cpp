// Folded inference in oneDNN's blocked layout vs the strided one, on a trained fashion-lt run:
// the JointEnergy scores of the ID test set and of every OOD set, and the demo table's OOD
// metrics (FPR95, AUROC), computed with BatchNorm folded in each layout (model/bn_folding.h),
// in the run's precision and with the same batches. The blocked layout became evaluation's
// default on a CPU (issue 19); this shows on real weights that it changes the scores by rounding
// only, far below the seed-to-seed spread of the quality gate (scripts/precision_check.sh).
// Also times both layouts on the ID test set (median of --repeats passes each, interleaved).
//
//   build/bench/bench_folded_layout --checkpoint RUN_DIR [--threads 2] [--batch 500] [--repeats 5]
#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/data/fashion_lt.h"
#include "edge/eval/trained_run.h"
#include "edge/metrics/ood_metrics.h"
#include "edge/model/bn_folding.h"
#include "edge/score/ood_scores.h"
#include "support/cli_parse.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"

namespace {

using edge::model::FoldedLayout;

struct Options {
  std::string checkpoint;
  int threads = 2;
  int64_t batch = 500;
  int repeats = 5;
};

// JointEnergy of `inputs` (normalised [N, 1, 56, 56]) with the run's model folded in `layout`.
torch::Tensor joint_energy(edge::eval::TrainedRun& run, const torch::Tensor& inputs, FoldedLayout layout,
                           int64_t batch) {
  const edge::model::ComputeMode mode = run.config.compute_mode();
  torch::NoGradGuard no_grad;
  edge::model::AutocastScope autocast(mode.bf16);
  edge::model::FoldedInference folded(*run.model, edge::model::FoldTarget{mode, layout});
  std::vector<torch::Tensor> logits;
  for (int64_t i = 0; i < inputs.size(0); i += batch) {
    const torch::Tensor x = inputs.slice(0, i, std::min(inputs.size(0), i + batch));
    logits.push_back(run.model->forward(edge::model::to_input_format(x, mode)).to(torch::kFloat32));
  }
  const torch::Tensor s = edge::score::compute_score(edge::score::ScoreKind::EnergySum, torch::cat(logits));
  return s.to(torch::kFloat64).contiguous();
}

std::vector<double> values(const torch::Tensor& s) { return {s.data_ptr<double>(), s.data_ptr<double>() + s.numel()}; }

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs() / (1 + b.abs())).max().item<double>();
}

}  // namespace

int main(int argc, char** argv) try {
  Options o;
  CLI::App app{"Folded inference, blocked vs strided layout, on a trained fashion-lt run", "bench_folded_layout"};
  app.add_option("--checkpoint", o.checkpoint, "run directory written by `edge train` (fashion-lt)")->required();
  app.add_option("--threads", o.threads, "intra-op threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", o.batch, "evaluation batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--repeats", o.repeats, "timed passes per layout")->check(CLI::PositiveNumber)->capture_default_str();
  edge::bench::parse_cli(app, argc, argv);
  torch::set_num_interop_threads(1);
  torch::set_num_threads(o.threads);
  edge::eval::TrainedRun run = edge::eval::open_trained_run(o.checkpoint);
  if (run.config.dataset.substr(0, run.config.dataset.find(':')) != edge::data::kFashionLtName)
    throw std::runtime_error(fmt::format("--checkpoint {}: expected a fashion-lt run, got dataset {}", o.checkpoint,
                                         run.config.dataset));
  edge::data::FashionLtOptions data = run.config.data;
  data.resolve_default_paths();
  edge::data::FashionLtParts parts;
  parts.id_train = parts.id_val = parts.oe_train = false;
  const edge::data::Benchmark b = edge::data::build_fashion_lt(data, parts);
  const edge::data::Transform t = edge::data::fashion_lt_transform();
  const auto mode = run.config.compute_mode();
  if (!edge::model::blocked_layout_available(torch::kCPU, mode))
    throw std::runtime_error(fmt::format("--checkpoint {}: its {} mode has no blocked layout on this CPU and LibTorch "
                                         "(oneDNN missing, or bf16 without AVX-512)",
                                         o.checkpoint, mode.bf16 ? "bf16" : "fp32"));
  std::cout << fmt::format("Folded inference, blocked vs strided layout (bench/bench_folded_layout)\nCPU: {}; {} "
                           "threads; run {} ({}, {}); batch {}\n\n",
                           edge::bench::cpu_name(), o.threads, o.checkpoint, mode.bf16 ? "bf16" : "fp32",
                           mode.channels_last ? "channels-last" : "NCHW", o.batch);

  const torch::Tensor id_inputs = t.normalize(edge::data::stack_images(b.id_test));
  const torch::Tensor id_strided = joint_energy(run, id_inputs, FoldedLayout::Strided, o.batch);
  const torch::Tensor id_blocked = joint_energy(run, id_inputs, FoldedLayout::Blocked, o.batch);
  std::cout << "| set | images | max abs(blocked - strided) / (1 + abs(strided)) | FPR95 strided | FPR95 blocked | "
               "AUROC strided | AUROC blocked |\n|---|---:|---:|---:|---:|---:|---:|\n";
  std::cout << fmt::format("| {} (ID) | {} | {:.3g} | | | | |\n", b.id_test.name, id_inputs.size(0),
                           max_rel_diff(id_blocked, id_strided));
  for (const auto& ood : b.ood_tests) {
    const torch::Tensor inputs = t.normalize(edge::data::stack_images(ood));
    const torch::Tensor s = joint_energy(run, inputs, FoldedLayout::Strided, o.batch);
    const torch::Tensor bl = joint_energy(run, inputs, FoldedLayout::Blocked, o.batch);
    const auto ms = edge::metrics::compute_ood_metrics(values(id_strided), values(s));
    const auto mb = edge::metrics::compute_ood_metrics(values(id_blocked), values(bl));
    std::cout << fmt::format("| {} | {} | {:.3g} | {:.2f} | {:.2f} | {:.3f} | {:.3f} |\n", ood.name, inputs.size(0),
                             max_rel_diff(bl, s), 100 * ms.fpr95, 100 * mb.fpr95, 100 * ms.auroc, 100 * mb.auroc);
  }

  std::vector<double> rate[2];
  for (int r = 0; r < o.repeats; ++r)
    for (const FoldedLayout l : {FoldedLayout::Strided, FoldedLayout::Blocked}) {
      const auto t0 = std::chrono::steady_clock::now();
      joint_energy(run, id_inputs, l, o.batch);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rate[l == FoldedLayout::Blocked].push_back(double(id_inputs.size(0)) / s);
    }
  const auto st = edge::bench::sample_stats(rate[0]), bt = edge::bench::sample_stats(rate[1]);
  std::cout << fmt::format("\nID test set, folded forward + score: strided {:.0f} [{:.0f}-{:.0f}] img/s, blocked {:.0f} "
                           "[{:.0f}-{:.0f}] img/s (median [min-max] of {} passes each, interleaved)\n",
                           st.median, st.lo, st.hi, bt.median, bt.lo, bt.hi, o.repeats);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_folded_layout: " << e.what() << "\n";
  return 2;
}
