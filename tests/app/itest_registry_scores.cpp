// `edge eval` of a run trained on a registry dataset (the tiny COCO fixture, read through
// the input pipeline) with every score: fitted on the training split, input-gradient
// scores on the registry transform's three channels, feature cache, score files, and the
// logit scores unchanged from plain predict_logits + evaluate_ood.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/atomic_file.h"
#include "edge/data/registry.h"
#include "edge/eval/ood_report.h"
#include "edge/train/predict.h"
#include "edge/eval/score_files.h"
#include "edge/model/checkpoint.h"
#include "edge/score/ood_scores.h"
#include "edge/train/train_config.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(RegistryScores, EveryScoreOnACocoRunWithCacheAndUnchangedLogitScores) {
  const fs::path datasets = edge::test::fixtures_dir() / "datasets";
  ASSERT_TRUE(fs::exists(datasets / "coco")) << "dataset fixtures missing";
  edge::test::TempDir tmp;
  const fs::path run = tmp.path() / "run";
  // fp32, not the `auto` default: the scores are compared with an fp32 predict_logits below.
  auto r = edge::test::run_cli({"train", "--dataset", "coco2014", "--data_root", datasets.string(), "--oe_data",
                                "folder:" + (datasets / "folder").string(), "--score", "joint", "--n_epoch", "1",
                                "--batch_size", "2", "--oe_batch_size", "2", "--k", "1", "--image_size", "32",
                                "--workers", "2", "--width", "4", "--hidden", "8", "--threads", "1", "--precision",
                                "fp32", "--out", run.string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;

  const std::vector<std::string> ood = {"folder:" + (datasets / "folder").string(), "noise-uniform:6"};
  const std::string ood_arg = fmt::format("{}", fmt::join(ood, ","));
  const std::string all = fmt::format("{}", fmt::join(edge::score::score_names(), ","));
  const fs::path scores_dir = tmp.path() / "scores";
  auto eval_all = [&](const std::string& out) {
    return edge::test::run_cli({"eval", "--checkpoint", run.string(), "--ood_data", ood_arg, "--score_fn", all,
                                "--noise", "0.002", "--knn_k", "2", "--lof_k", "2", "--tail_j", "0", "--workers", "2",
                                "--threads", "1", "--save_scores", scores_dir.string(), "--out",
                                (tmp.path() / out).string()});
  };
  r = eval_all("ev1");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("cache: 0 hits 4 misses"), std::string::npos) << r.out;
  const json j1 = json::parse(edge::read_text_file(tmp.path() / "ev1" / "eval.json"));
  ASSERT_EQ(j1["reports"].size(), edge::score::score_names().size());
  EXPECT_EQ(j1["feature_cache"]["misses"], 4);  // train (fit), val (ID test), two OOD sets
  EXPECT_EQ(j1["feature_cache"]["hits"], 0);
  EXPECT_EQ(j1["checkpoint_hash"].get<std::string>().size(), 16u);
  EXPECT_EQ(j1["sets"]["fit_train"]["images"], j1["sets"]["fit_train"]["of"]);
  EXPECT_TRUE(fs::exists(tmp.path() / "ev1" / "eval.csv"));
  EXPECT_TRUE(fs::exists(tmp.path() / "ev1" / "eval.md"));
  for (const auto& rep : j1["reports"]) {
    const std::string s = rep["score"];
    EXPECT_TRUE(rep.contains("fit")) << s;
    ASSERT_EQ(rep["rows"].size(), 3u) << s;
    for (const auto& row : rep["rows"])
      for (const char* m : {"fpr95", "auroc", "aupr_in", "aupr_out"})
        EXPECT_TRUE(row[m].is_number()) << s << " " << row["ood_set"] << " " << m;
    const auto id = edge::eval::read_score_file(scores_dir / s / "id_test.txt");
    ASSERT_EQ(static_cast<int64_t>(id.size()), rep["rows"][0]["n_id"].get<int64_t>()) << s;
    for (double v : id) EXPECT_TRUE(std::isfinite(v)) << s;
  }
  EXPECT_NE(j1["reports"][edge::score::score_names().size() - 1]["fit"].dump(), "null");

  // The second evaluation reads every set from the cache and gives the same numbers.
  r = eval_all("ev2");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const json j2 = json::parse(edge::read_text_file(tmp.path() / "ev2" / "eval.json"));
  EXPECT_EQ(j2["feature_cache"]["misses"], 0);
  EXPECT_EQ(j2["feature_cache"]["hits"], 4);
  ASSERT_EQ(j2["reports"].size(), j1["reports"].size());
  for (size_t i = 0; i < j1["reports"].size(); ++i)
    EXPECT_EQ(j2["reports"][i]["rows"], j1["reports"][i]["rows"]) << j1["reports"][i]["score"];

  // A logit score gives what predict_logits + evaluate_ood gave before the shared flow.
  const edge::train::TrainConfig config = edge::train::load_run_config(run);
  auto model = edge::model::load_weights(config.model, run / "model.pt");
  model->eval();
  edge::data::BenchmarkSpec spec;
  spec.dataset = config.dataset;
  spec.data_root = config.data_root;
  spec.ood_data = ood;
  spec.need_train = spec.need_oe = spec.need_test = false;
  const auto b = edge::data::open_benchmark(spec);
  const auto t = edge::data::reference_eval_transform(config.image_size);
  std::vector<int64_t> kept;
  const torch::Tensor id_logits = edge::train::predict_logits(model, b.id_val, t, 4, 1, nullptr, &kept);
  std::vector<std::pair<std::string, torch::Tensor>> ood_logits;
  for (size_t i = 0; i < ood.size(); ++i)
    ood_logits.emplace_back(ood[i], edge::train::predict_logits(model, b.ood_tests[i], t, 4, 1, nullptr));
  const auto expect = edge::eval::evaluate_ood(edge::score::ScoreKind::EnergySum, id_logits,
                                               b.id_val.labels.index_select(0, torch::tensor(kept)), ood_logits, {0},
                                               b.class_names);
  const json got = j1["reports"][0];
  ASSERT_EQ(got["score"], "energy_sum");
  for (size_t i = 0; i < expect.rows.size(); ++i) {
    EXPECT_EQ(got["rows"][i]["ood_set"], expect.rows[i].ood_set);
    EXPECT_DOUBLE_EQ(got["rows"][i]["auroc"].get<double>(), expect.rows[i].auroc) << i;
    EXPECT_DOUBLE_EQ(got["rows"][i]["fpr95"].get<double>(), expect.rows[i].fpr95) << i;
    EXPECT_DOUBLE_EQ(got["rows"][i]["aupr_in"].get<double>(), expect.rows[i].aupr) << i;
  }
  EXPECT_DOUBLE_EQ(got["id_map"].get<double>(), expect.id_map);
  const auto noise_scores = edge::eval::read_score_file(scores_dir / "energy_sum" / "noise-uniform_6.txt");
  const torch::Tensor direct = edge::score::compute_score(edge::score::ScoreKind::EnergySum, ood_logits[1].second);
  ASSERT_EQ(static_cast<int64_t>(noise_scores.size()), direct.size(0));
  for (size_t i = 0; i < noise_scores.size(); ++i)
    EXPECT_NEAR(noise_scores[i], direct[static_cast<int64_t>(i)].item<double>(), 1e-6) << i;

  // Fitting on an even subsample of the training split is recorded.
  r = edge::test::run_cli({"eval", "--checkpoint", run.string(), "--ood_data", ood_arg, "--score_fn",
                           "knn,mahalanobis_max", "--knn_k", "1", "--fit_max_images", "2", "--tail_j", "0", "--threads",
                           "1", "--out", (tmp.path() / "ev3").string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const json j3 = json::parse(edge::read_text_file(tmp.path() / "ev3" / "eval.json"));
  EXPECT_EQ(j3["sets"]["fit_train"]["images"], 2);
  EXPECT_EQ(j3["sets"]["fit_train"]["fit_max_images"], 2);
  EXPECT_EQ(j3["feature_cache"]["misses"], 1);  // only the subsampled training set is new
  EXPECT_EQ(j3["feature_cache"]["hits"], 3);
}

}  // namespace
