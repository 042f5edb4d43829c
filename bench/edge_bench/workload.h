// The workload every side of bench_edge runs: the training configuration, the synthetic data
// (written once for all worker processes) and this project's evaluation pass.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/data/registry.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"
#include "edge/train/train_config.h"
#include "edge/train/trainer.h"
#include "edge/train/training_data.h"
#include "edge_bench/options.h"

namespace edge::bench::edge_bench {

// The EDGE training configuration of the bench (joint objective, the gap term in every step).
edge::train::TrainConfig bench_config(int threads, int64_t id_train, const std::string& precision, bool cl);

// MiB of a set of fashion-lt-shaped images, as uint8.
double image_mb(const edge::data::Dataset& set);

// The synthetic benchmark of the given tensors (fashion-lt's shape, kClasses classes).
edge::data::Benchmark synthetic_benchmark(torch::Tensor id_images, torch::Tensor id_labels, torch::Tensor oe_images,
                                          torch::Tensor eval_images);

// Random images and labels: n_train ID and OE images, n_eval evaluation images.
edge::data::Benchmark make_data(int64_t n_train, int64_t n_eval);

// The training data of a run on `data` with the bench configuration's dataset recipe.
edge::train::PipelineData training_data(const edge::data::Benchmark& data, const edge::train::TrainConfig& c);

// One evaluation pass: logits + JointEnergy of every image; images/s (through the input
// pipeline and the run's evaluation transform, as `edge eval` reads any set).
double eval_pass(edge::model::MultiLabelNet net, const edge::data::Dataset& set, const edge::model::ComputeMode& mode);

// Raw float64 files (the metric scores every side reads).
std::vector<double> read_raw(const std::filesystem::path& file);
void write_raw(const std::filesystem::path& file, const std::vector<double>& v);

// Writes the shared data (images, labels, batch orders, flips, scores) for the workers.
void write_shared_data(const Options& o, const std::filesystem::path& dir, int64_t n_train);

// The spec every worker reads (sizes, loss constants, the compute mode under test).
nlohmann::json make_spec(const Options& o, const std::filesystem::path& dir);

}  // namespace edge::bench::edge_bench
