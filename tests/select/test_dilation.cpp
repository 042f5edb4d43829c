// The dilation distance (EDGE-SPEC §7): singular values against torch.linalg.svdvals /
// numpy live, k handling, the ranking, and the batch plan of the selection pipeline.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/data/augment.h"
#include "edge/model/torch_file.h"
#include "edge/select/dilation.h"
#include "edge/select/oe_selection.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace edge;
using select::SelectionRule;

torch::Tensor vec(std::vector<double> v) { return torch::tensor(v, torch::kFloat64); }

select::SetSpectra spectra(const std::string& name, std::vector<std::vector<double>> batches, int64_t b = 4) {
  select::SetSpectra s;
  s.name = name;
  s.batch_size = b;
  s.images = b * static_cast<int64_t>(batches.size());
  for (auto& v : batches) s.batches.push_back(vec(v));
  return s;
}

TEST(DilationDistance, SingularValuesAndDistanceMatchTorchAndNumpyLive) {
  if (!test::python_has_modules("torch,numpy")) GTEST_SKIP() << "python3-torch / numpy missing";
  test::TempDir dir;
  // Raw (uncentred, non-negative like ReLU features) batches, B < D and B > D.
  torch::manual_seed(7);
  const std::vector<torch::Tensor> id = {torch::rand({6, 10}) * 3, torch::rand({6, 10}) * 3,
                                         torch::rand({6, 10}) * 3};
  const std::vector<torch::Tensor> oe = {torch::rand({6, 10}).pow(2) * 5, torch::rand({6, 10}).pow(2) * 5};
  const torch::Tensor tall = torch::randn({9, 4});
  model::save_torch_file(c10::IValue(c10::List<torch::Tensor>(id)), dir.path() / "id.pt");
  model::save_torch_file(c10::IValue(c10::List<torch::Tensor>(oe)), dir.path() / "oe.pt");
  model::save_torch_file(tall, dir.path() / "tall.pt");
  const std::string py = test::run_python("import torch, numpy as np, json\nd = '" + dir.path().string() + R"('
id = torch.load(d + '/id.pt'); oe = torch.load(d + '/oe.pt'); tall = torch.load(d + '/tall.pt')
n = min(len(id), len(oe))  # zip() pairs the first n batches
s_id = torch.stack([torch.linalg.svdvals(f.double()) for f in id[:n]]).mean(0)
s_oe = torch.stack([torch.linalg.svdvals(f.double()) for f in oe[:n]]).mean(0)
out = {'tall': np.linalg.svd(tall.double().numpy(), compute_uv=False).tolist()}
for k in (1, 3, 6):
    out[str(k)] = torch.linalg.norm(s_id[:k] - s_oe[:k]).item()
print('RESULT ' + json.dumps(out))
)");
  const nlohmann::json ref = nlohmann::json::parse(py.substr(py.find("RESULT ") + 7));

  const torch::Tensor s_tall = select::batch_singular_values(tall);
  ASSERT_EQ(s_tall.size(0), 4);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(s_tall[i].item<double>(), ref["tall"][i].get<double>(), 1e-9);

  select::SetSpectra sid, soe;
  sid.name = "id";
  soe.name = "oe";
  sid.batch_size = soe.batch_size = 6;
  for (const auto& f : id) sid.batches.push_back(select::batch_singular_values(f));
  for (const auto& f : oe) soe.batches.push_back(select::batch_singular_values(f));
  for (const int64_t k : {1, 3, 6}) {
    const auto r = select::rank_candidates(sid, {soe}, k, SelectionRule::Smallest);
    const double expected = ref[std::to_string(k)].get<double>();
    std::cout << "[dilation] k = " << k << ": C++ " << r.candidates[0].distance << ", torch " << expected << "\n";
    EXPECT_NEAR(r.candidates[0].distance, expected, 1e-9 * std::max(1.0, expected));
    EXPECT_EQ(r.candidates[0].batches, 2);  // the ID set's third batch has no partner
  }
}

TEST(DilationDistance, KSelectsSingularValuesNotJustAScale) {
  // The reference's broadcasting turns k into a factor sqrt(k); here k changes the ranking.
  const auto id = spectra("id", {{10, 5, 1}});
  const auto a = spectra("a", {{10, 5, 9}});  // equal top-2, far third value
  const auto b = spectra("b", {{9, 4, 1}});   // close everywhere
  const auto r2 = select::rank_candidates(id, {a, b}, 2, SelectionRule::Smallest);
  const auto r3 = select::rank_candidates(id, {a, b}, 3, SelectionRule::Smallest);
  EXPECT_DOUBLE_EQ(r2.candidates[0].distance, 0.0);
  EXPECT_DOUBLE_EQ(r2.candidates[1].distance, std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(r3.candidates[0].distance, 8.0);
  EXPECT_EQ(r2.selected, "a");
  EXPECT_EQ(r3.selected, "b");
  EXPECT_EQ(r3.candidates[0].top_k, (std::vector<double>{10, 5, 9}));
  EXPECT_EQ(r3.candidates[0].id_top_k, (std::vector<double>{10, 5, 1}));
}

TEST(DilationDistance, KOutsideTheSpectrumIsAUsageErrorNotAClamp) {
  const torch::Tensor s = vec({3, 2, 1}), t = vec({3, 2, 1, 0.5});
  EXPECT_DOUBLE_EQ(select::dilation_distance(s, t, 3), 0.0);
  EXPECT_THROW(select::dilation_distance(s, t, 4), UsageError);
  EXPECT_THROW(select::dilation_distance(s, t, 0), UsageError);
  try {
    select::dilation_distance(s, t, 4);
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--k 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(select::batch_singular_values(torch::ones({3})), c10::Error);
}

TEST(DilationDistance, RankingFollowsTheRuleAndKeepsTiesInOrder) {
  const std::vector<double> d = {2.0, 0.5, 2.0, 7.0};
  EXPECT_EQ(select::rank_by_distance(d, SelectionRule::Smallest), (std::vector<int64_t>{2, 1, 3, 4}));
  EXPECT_EQ(select::rank_by_distance(d, SelectionRule::Largest), (std::vector<int64_t>{2, 4, 3, 1}));
  EXPECT_THROW(select::rank_by_distance({1.0, std::nan("")}, SelectionRule::Smallest), NumericError);
  EXPECT_EQ(select::parse_selection_rule("largest"), SelectionRule::Largest);
  EXPECT_THROW(select::parse_selection_rule("closest"), UsageError);
  EXPECT_NE(select::describe_rule(SelectionRule::Smallest).find("SMALLEST"), std::string::npos);
}

TEST(SelectionPlan, ShuffledFullBatchesOnlyAndIndependentOfOtherSets) {
  select::BatchPlanOptions o{4, 0, 11};
  const auto plan = select::selection_plan(10, o, select::set_stream("textures"));
  ASSERT_EQ(plan.size(), 2u);  // 10 images: two batches of 4, the last 2 images dropped
  std::set<int64_t> seen;
  for (const auto& b : plan) {
    EXPECT_EQ(b.size(), 4u);
    seen.insert(b.begin(), b.end());
  }
  EXPECT_EQ(seen.size(), 8u);
  std::vector<int64_t> flat;
  for (const auto& b : plan) flat.insert(flat.end(), b.begin(), b.end());
  EXPECT_NE(flat, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));  // shuffled as DataLoader(shuffle=True)
  EXPECT_EQ(select::selection_plan(10, o, select::set_stream("textures")), plan);  // deterministic
  EXPECT_NE(select::selection_plan(10, o, select::set_stream("mnist")), plan);
  EXPECT_NE(select::set_stream("a"), select::set_stream("b"));
  o.max_batches = 1;
  EXPECT_EQ(select::selection_plan(10, o, select::set_stream("textures")).size(), 1u);
  EXPECT_TRUE(select::selection_plan(3, o, 1).empty());
}

TEST(SelectionPlan, CollectSpectraTakesTheSingularValuesOfEachFeatureBatch) {
  torch::manual_seed(5);
  data::Dataset set;
  set.name = "mem";
  set.images = data::memory_source((torch::rand({9, 3, 8, 8}) * 255).to(torch::kUInt8), "mem");
  std::vector<torch::Tensor> seen;
  const select::FeatureFn flatten = [&](const torch::Tensor& x) {
    seen.push_back(x.clone());
    return x.flatten(1);
  };
  const data::Transform tf = data::transform_preset("eval", 8);
  std::ostringstream warnings;
  const auto s = select::collect_spectra(set, "mem", tf, flatten, {4, 0, 3}, 0, &warnings);
  ASSERT_EQ(s.batches.size(), 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(s.images, 9);
  EXPECT_EQ(s.images_used(), 8);
  EXPECT_EQ(s.feature_dim, 3 * 8 * 8);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(torch::allclose(s.batches[i], torch::linalg_svdvals(seen[i].flatten(1).to(torch::kFloat64))));
  EXPECT_TRUE(torch::allclose(select::mean_spectrum(s, 2), (s.batches[0] + s.batches[1]) / 2));
  EXPECT_THROW(select::collect_spectra(set, "mem", tf, flatten, {10, 0, 3}, 0, &warnings), DataError);
}

}  // namespace
