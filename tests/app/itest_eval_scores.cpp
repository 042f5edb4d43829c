// `edge eval` with every score over several OOD sets in one pass: feature cache reuse,
// raw score files (metrics recomputed by sklearn), JSON / CSV / Markdown outputs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/atomic_file.h"
#include "edge/eval/score_files.h"
#include "edge/metrics/ood_metrics.h"
#include "edge/score/ood_scores.h"
#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(EvalScores, EveryScoreCachedFeaturesAndRecomputableScoreFiles) {
  edge::test::TempDir dir;
  const auto run_dir = dir.path() / "run";
  auto r = edge::test::run_cli(edge::test::tiny_train_args(run_dir));
  ASSERT_EQ(r.code, 0) << r.err;

  const std::string all = fmt::format("{}", fmt::join(edge::score::score_names(), ","));
  const auto scores_dir = dir.path() / "scores";
  r = edge::test::run_cli({"eval", "--checkpoint", run_dir.string(), "--ood_data", "bag,noise", "--scores", all,
                           "--noise", "0.002", "--knn_k", "10", "--save_scores", scores_dir.string(), "--out",
                           (dir.path() / "ev1").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Summary"), std::string::npos) << r.out;
  const json j1 = json::parse(edge::read_text_file(dir.path() / "ev1" / "eval.json"));
  ASSERT_EQ(j1["reports"].size(), edge::score::score_names().size());
  EXPECT_EQ(j1["feature_cache"]["misses"], 5);  // id_train, id_val, id_test, bag, noise: once each
  EXPECT_EQ(j1["feature_cache"]["hits"], 0);
  EXPECT_EQ(j1["score"], "energy_sum");  // top level: the first score, as the single-score format
  EXPECT_TRUE(fs::exists(dir.path() / "ev1" / "eval.csv"));
  const std::string md = edge::read_text_file(dir.path() / "ev1" / "eval.md");
  EXPECT_NE(md.find("| gradnorm | bag |"), std::string::npos) << md;
  EXPECT_NE(md.find("Head/tail"), std::string::npos);
  for (const auto& rep : j1["reports"]) {
    ASSERT_EQ(rep["rows"].size(), 3u) << rep["score"];
    for (const auto& row : rep["rows"]) EXPECT_TRUE(row["auroc"].is_number()) << rep["score"] << " " << row["ood_set"];
    EXPECT_EQ(rep["head_tail"].size(), 5u);
  }

  // The score files reproduce the reported metrics (C++ metrics here, sklearn below).
  std::map<std::string, double> auroc_bag;
  for (const auto& rep : j1["reports"]) {
    const std::string s = rep["score"];
    const auto id = edge::eval::read_score_file(scores_dir / s / "id_test.txt");
    const auto bag = edge::eval::read_score_file(scores_dir / s / "bag.txt");
    ASSERT_EQ(id.size(), 128u) << s;
    ASSERT_EQ(bag.size(), 64u) << s;
    EXPECT_DOUBLE_EQ(edge::metrics::auroc(id, bag), rep["rows"][0]["auroc"].get<double>()) << s;
    auroc_bag[s] = rep["rows"][0]["auroc"];
  }

  // A second evaluation reuses every cached set and reproduces the numbers.
  r = edge::test::run_cli({"eval", "--checkpoint", run_dir.string(), "--ood_data", "bag,noise", "--score_fn",
                           "knn,energy_sum,lof", "--knn_k", "10", "--fpr_convention", "ood_positive", "--out",
                           (dir.path() / "ev2").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j2 = json::parse(edge::read_text_file(dir.path() / "ev2" / "eval.json"));
  EXPECT_EQ(j2["feature_cache"]["misses"], 0);
  EXPECT_EQ(j2["feature_cache"]["hits"], 5);
  EXPECT_NE(j2["fpr_convention"].get<std::string>().find("OOD"), std::string::npos) << j2["fpr_convention"];
  for (const auto& rep : j2["reports"])
    EXPECT_DOUBLE_EQ(rep["rows"][0]["auroc"].get<double>(), auroc_bag[rep["score"].get<std::string>()]) << rep["score"];

  // Bad score names and conventions are one-line usage errors.
  r = edge::test::run_cli({"eval", "--checkpoint", run_dir.string(), "--score_fn", "energy_sum,bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
  r = edge::test::run_cli({"eval", "--checkpoint", run_dir.string(), "--fpr_convention", "sideways"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--fpr_convention"), std::string::npos) << r.err;

  if (!edge::test::python_has_modules("numpy,sklearn")) GTEST_SKIP() << "Debian python3 with sklearn not available";
  const std::string out = edge::test::run_python(fmt::format(R"(
import json, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score
d = '{}'
rep = json.load(open('{}'))
worst = 0.0
for r in rep['reports']:
    i = np.loadtxt(d + '/' + r['score'] + '/id_test.txt')
    for row in r['rows'][:-1]:
        o = np.loadtxt(d + '/' + r['score'] + '/' + row['ood_set'] + '.txt')
        y = np.r_[np.ones(len(i)), np.zeros(len(o))]
        s = np.r_[i, o]
        worst = max(worst, abs(roc_auc_score(y, s) - row['auroc']), abs(average_precision_score(y, s) - row['aupr_in']),
                    abs(average_precision_score(1 - y, -s) - row['aupr_out']))
print(worst)
)", scores_dir.string(), (dir.path() / "ev1" / "eval.json").string()));
  EXPECT_LT(std::stod(out), 1e-12) << out;
}

}  // namespace
