#include "edge_bench/workload.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "edge/data/fashion_lt.h"
#include "edge/data/readers.h"
#include "edge/model/torch_file.h"
#include "edge/score/ood_scores.h"
#include "edge/train/predict.h"

namespace edge::bench::edge_bench {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// Images of fashion-lt's shape (uint8 [N, 1, 56, 56]) as an in-memory set.
edge::data::Dataset memory_set(const std::string& name, torch::Tensor images, torch::Tensor labels = {}) {
  edge::data::Dataset d;
  d.name = name;
  d.images = edge::data::memory_source(std::move(images), name);
  d.labels = std::move(labels);
  return d;
}

}  // namespace

edge::train::TrainConfig bench_config(int threads, int64_t id_train, const std::string& precision, bool cl) {
  edge::train::TrainConfig c;
  c.objective = "joint";
  c.start_epoch = 0;  // the gap term (bottom-k, pairwise relu) in every step, as in EDGE's second phase
  c.batch_size = kBatch;
  c.oe_batch_size = kOeBatch;
  c.threads = threads;
  c.data.id_train = id_train;
  c.model.hidden = kHidden;
  c.model.num_classes = kClasses;
  c.precision = precision;
  c.channels_last = cl ? "true" : "false";
  c.eval_batch_size = kEvalBatch;
  return c;
}

double image_mb(const edge::data::Dataset& set) { return double(set.size()) * 56.0 * 56.0 / (1024.0 * 1024.0); }

edge::data::Benchmark synthetic_benchmark(torch::Tensor id_images, torch::Tensor id_labels, torch::Tensor oe_images,
                                          torch::Tensor eval_images) {
  edge::data::Benchmark b;
  b.name = "synthetic";
  for (int64_t c = 0; c < kClasses; ++c) b.class_names.push_back(fmt::format("c{}", c));
  b.id_train = memory_set("id_train", std::move(id_images), std::move(id_labels));
  b.id_train.class_names = b.class_names;
  b.oe_train = memory_set("oe_train", std::move(oe_images));
  b.id_test = memory_set("eval", std::move(eval_images));
  return b;
}

edge::data::Benchmark make_data(int64_t n_train, int64_t n_eval) {
  return synthetic_benchmark(torch::randint(0, 256, {n_train, 1, 56, 56}, torch::kUInt8),
                             (torch::rand({n_train, kClasses}) < 0.3).to(torch::kFloat32),
                             torch::randint(0, 256, {n_train, 1, 56, 56}, torch::kUInt8),
                             torch::randint(0, 256, {n_eval, 1, 56, 56}, torch::kUInt8));
}

edge::train::PipelineData training_data(const edge::data::Benchmark& data, const edge::train::TrainConfig& c) {
  return edge::train::pipeline_data(data, edge::data::run_recipe(c.dataset, c.image_size, c.hflip), c.workers);
}

// Through the input pipeline and the run's evaluation transform, as `edge eval` reads any set.
double eval_pass(edge::model::MultiLabelNet net, const edge::data::Dataset& set, const edge::model::ComputeMode& mode) {
  const edge::data::Transform t = edge::data::run_recipe(edge::train::TrainConfig{}.dataset, 0, false).eval;
  const auto t0 = Clock::now();
  const auto logits = edge::train::predict_logits(net, set, t, kEvalBatch, 2, nullptr, nullptr, mode);
  const auto s = edge::score::compute_score(edge::score::ScoreKind::EnergySum, logits);
  TORCH_CHECK(s.size(0) == set.size(), "bench: expected one score per image");
  return double(set.size()) / std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<double> read_raw(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<double> v(size_t(in.tellg()) / sizeof(double));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  return v;
}

void write_raw(const std::filesystem::path& file, const std::vector<double>& v) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write_shared_data(const Options& o, const std::filesystem::path& dir, int64_t n_train) {
  const edge::data::Benchmark data = make_data(n_train, o.eval_images);
  std::mt19937_64 rng(1);
  std::vector<double> id_scores(o.scores / 2), ood_scores(o.scores - o.scores / 2);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto& x : id_scores) x = normal(rng) + 1.0;
  for (auto& x : ood_scores) x = normal(rng);
  using edge::model::save_torch_file;
  const int64_t epochs = o.repeats + 1, per_step = kBatch + kOeBatch;
  std::vector<torch::Tensor> orders, oe_orders;
  for (int64_t e = 0; e < epochs; ++e) {
    orders.push_back(torch::randperm(n_train, torch::kInt64));
    oe_orders.push_back(torch::randperm(n_train, torch::kInt64));
  }
  save_torch_file(edge::data::stack_images(data.id_train), dir / "id_images.pt");
  save_torch_file(data.id_train.labels, dir / "id_labels.pt");
  save_torch_file(edge::data::stack_images(data.oe_train), dir / "oe_images.pt");
  save_torch_file(edge::data::stack_images(data.id_test), dir / "eval_images.pt");
  save_torch_file(torch::stack(orders), dir / "orders.pt");
  save_torch_file(torch::stack(oe_orders), dir / "oe_orders.pt");
  save_torch_file((torch::rand({epochs, o.steps, per_step}) < 0.5).to(torch::kUInt8), dir / "flips.pt");
  write_raw(dir / "scores_id.f64", id_scores);
  write_raw(dir / "scores_ood.f64", ood_scores);
}

json make_spec(const Options& o, const std::filesystem::path& dir) {
  const auto cfg = bench_config(o.threads, o.steps * kBatch, "fp32", false);
  return {{"dir", dir.string()}, {"threads", o.threads}, {"train_steps", o.steps}, {"repeats", o.repeats},
          {"batch", kBatch}, {"oe_batch", kOeBatch}, {"eval_batch", kEvalBatch}, {"hidden", kHidden},
          {"num_classes", kClasses}, {"alpha", cfg.alpha}, {"beta", cfg.energy_beta}, {"k", cfg.k}, {"m", cfg.m},
          {"mean", edge::data::kFashionLtMean}, {"std", edge::data::kFashionLtStd}, {"precision", o.precision},
          {"channels_last", o.channels_last}, {"calibration_steps", std::min(o.steps, kCalibrationSteps)},
          {"calibration_rounds", kCalibrationRounds}};
}

}  // namespace edge::bench::edge_bench
