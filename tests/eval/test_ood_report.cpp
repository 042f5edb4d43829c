#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/eval/ood_report.h"
#include "edge/metrics/ood_metrics.h"

namespace {

using edge::score::ScoreKind;

// Six ID samples over three classes; class 0 is the most frequent, then class 2.
struct Fixture {
  torch::Tensor id_logits = torch::tensor({{3.0, -1.0, 0.0}, {2.0, -2.0, 1.0}, {-1.0, 1.0, 2.0},
                                           {-2.0, 0.5, -1.0}, {1.0, -3.0, -3.0}, {-1.5, -1.0, 0.5}});
  torch::Tensor id_labels = torch::tensor({{1.f, 0.f, 0.f}, {1.f, 0.f, 1.f}, {0.f, 1.f, 1.f},
                                           {0.f, 1.f, 0.f}, {1.f, 0.f, 0.f}, {0.f, 0.f, 1.f}});
  torch::Tensor ood_a = torch::tensor({{-2.0, -2.0, -2.0}, {0.0, -4.0, -1.0}, {-3.0, -1.0, -0.5}});
  torch::Tensor ood_b = torch::tensor({{1.0, 1.0, -4.0}, {-5.0, -5.0, -5.0}});
  std::vector<std::string> names = {"c0", "c1", "c2"};
};

std::vector<double> energy(const torch::Tensor& z) {
  const auto s = edge::score::compute_score(ScoreKind::EnergySum, z).contiguous();
  return {s.data_ptr<double>(), s.data_ptr<double>() + s.numel()};
}

TEST(OodReport, RowsAndMeanMatchDirectMetrics) {
  Fixture f;
  const auto r = edge::eval::evaluate_ood(ScoreKind::EnergySum, f.id_logits, f.id_labels,
                                          {{"a", f.ood_a}, {"b", f.ood_b}}, {0, 1}, f.names);
  ASSERT_EQ(r.rows.size(), 3u);
  const auto ma = edge::metrics::compute_ood_metrics(energy(f.id_logits), energy(f.ood_a));
  const auto mb = edge::metrics::compute_ood_metrics(energy(f.id_logits), energy(f.ood_b));
  EXPECT_DOUBLE_EQ(r.rows[0].fpr95, ma.fpr95);
  EXPECT_DOUBLE_EQ(r.rows[0].auroc, ma.auroc);
  EXPECT_DOUBLE_EQ(r.rows[1].aupr, mb.aupr_in);
  EXPECT_EQ(r.rows[2].ood_set, "mean");
  EXPECT_DOUBLE_EQ(r.mean().auroc, (ma.auroc + mb.auroc) / 2);
  EXPECT_EQ(r.mean().n_ood, 5);
}

TEST(OodReport, TailBreakdownDropsSamplesWithHeadClasses) {
  Fixture f;
  const auto r = edge::eval::evaluate_ood(ScoreKind::EnergySum, f.id_logits, f.id_labels, {{"a", f.ood_a}},
                                          {0, 1, 2}, f.names);
  EXPECT_EQ(r.class_counts, (std::vector<int64_t>{3, 2, 3}));
  // Ties in frequency keep class order: ranking c0, c2, c1.
  EXPECT_EQ(r.tail_for(1).excluded_classes, (std::vector<int64_t>{0}));
  EXPECT_EQ(r.tail_for(2).excluded_classes, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(r.tail_for(0).rows.back().n_id, 6);
  EXPECT_EQ(r.tail_for(1).rows.back().n_id, 3);  // samples 2, 3, 5
  EXPECT_EQ(r.tail_for(2).rows.back().n_id, 1);  // sample 3
  const auto all = energy(f.id_logits);
  const auto m1 = edge::metrics::compute_ood_metrics({all[2], all[3], all[5]}, energy(f.ood_a));
  EXPECT_DOUBLE_EQ(r.tail_for(1).rows[0].fpr95, m1.fpr95);
  EXPECT_DOUBLE_EQ(r.tail_for(1).rows[0].auroc, m1.auroc);
  EXPECT_THROW(r.tail_for(7), edge::UsageError);
}

TEST(OodReport, JsonAndCsvCarryEverything) {
  Fixture f;
  const auto r = edge::eval::evaluate_ood(ScoreKind::MaxLogit, f.id_logits, f.id_labels, {{"a", f.ood_a}},
                                          {0, 2}, f.names);
  const auto j = edge::eval::report_to_json(r);
  EXPECT_EQ(j["score"], "max_logit");
  EXPECT_NE(j["fpr_convention"].get<std::string>().find("ID positive"), std::string::npos);
  EXPECT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["head_tail"].size(), 2u);
  const std::string csv = edge::eval::report_to_csv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 + 2);  // header, j=0 rows, j=2 rows
  const std::string table = edge::eval::format_report(r);
  EXPECT_NE(table.find("ID mAP"), std::string::npos);
}

TEST(OodReport, AuprOutAndTheOodPositiveConvention) {
  Fixture f;
  const auto id = energy(f.id_logits), ood = energy(f.ood_a);
  const auto r = edge::eval::evaluate_scores("energy_sum", id, {{"a", ood}}, f.id_logits, f.id_labels, {0}, f.names,
                                             edge::metrics::FprConvention::OodPositive);
  const auto m = edge::metrics::compute_ood_metrics(id, ood, edge::metrics::FprConvention::OodPositive);
  EXPECT_DOUBLE_EQ(r.rows[0].fpr95, m.fpr95);
  EXPECT_DOUBLE_EQ(r.rows[0].aupr_out, edge::metrics::aupr_out(id, ood));
  EXPECT_EQ(r.convention, edge::metrics::to_string(edge::metrics::FprConvention::OodPositive));
  EXPECT_NE(edge::eval::format_report(r).find(r.convention), std::string::npos);
}

TEST(OodReport, SeveralScoresInOneCsvAndMarkdown) {
  Fixture f;
  std::vector<edge::eval::OodReport> rs;
  for (auto k : {ScoreKind::EnergySum, ScoreKind::MaxLogit})
    rs.push_back(edge::eval::evaluate_ood(k, f.id_logits, f.id_labels, {{"a", f.ood_a}, {"b", f.ood_b}}, {0, 1}, f.names));
  const std::string csv = edge::eval::reports_to_csv(rs);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * (3 + 3));  // header; per score: j=0 and j=1 rows
  EXPECT_NE(csv.find("aupr_out_pct"), std::string::npos);
  const std::string md = edge::eval::reports_to_markdown(rs);
  EXPECT_NE(md.find("| energy_sum | a |"), std::string::npos) << md;
  EXPECT_NE(md.find("| max_logit | **mean** |"), std::string::npos) << md;
  EXPECT_NE(md.find("ID positive"), std::string::npos) << md;
  EXPECT_NE(md.find("| max_logit | 1 |"), std::string::npos) << md;
  const std::string summary = edge::eval::format_summary(rs);
  EXPECT_NE(summary.find("max_logit"), std::string::npos);
}

TEST(OodReport, RejectsBadJ) {
  Fixture f;
  EXPECT_THROW(edge::eval::evaluate_ood(ScoreKind::EnergySum, f.id_logits, f.id_labels, {{"a", f.ood_a}}, {4},
                                        f.names),
               edge::UsageError);
}

}  // namespace
