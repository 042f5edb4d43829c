#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>

#include "edge/common/error.h"
#include "edge/eval/html_report.h"
#include "support/test_support.h"

namespace {

using edge::test::count_occurrences;

edge::eval::OodReport report(const std::string& score, const std::vector<std::string>& sets,
                             const std::vector<int64_t>& j_grid, const std::vector<std::string>& classes) {
  const auto labels = torch::tensor({{1.f, 0.f, 0.f}, {1.f, 1.f, 0.f}, {0.f, 1.f, 1.f}, {0.f, 0.f, 1.f},
                                     {0.f, 0.f, 0.f}});
  const auto logits = torch::tensor({{2.0, -1.0, 0.0}, {1.0, 1.0, -2.0}, {-1.0, 0.5, 2.0}, {0.0, -1.0, 1.5},
                                     {-2.0, -2.0, -2.0}});
  edge::eval::NamedScores ood;
  for (size_t i = 0; i < sets.size(); ++i) ood.push_back({sets[i], {0.1 * double(i), 1.5, -1.0, 2.2}});
  return edge::eval::evaluate_scores(score, {3.0, 2.0, 2.5, 1.0, 0.2}, ood, logits, labels, j_grid, classes);
}

TEST(HtmlReport, EscapesEveryString) {
  edge::eval::HtmlReportInfo info;
  info.title = "run <1> & co";
  info.meta = {{"checkpoint", "/tmp/a\"b'c"}};
  const auto html = edge::eval::render_html_report(
      {report("s<core>&\"'", {"<script>alert(1)</script>", "b&b"}, {0, 1}, {"c<0>", "c1", "c2"})}, info);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<core>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("s&lt;core&gt;&amp;&quot;&#39;"), std::string::npos);
  EXPECT_NE(html.find("<title>run &lt;1&gt; &amp; co</title>"), std::string::npos);
  EXPECT_NE(html.find("/tmp/a&quot;b&#39;c"), std::string::npos);
  EXPECT_NE(html.find("b&amp;b"), std::string::npos);
  EXPECT_NE(html.find("c&lt;0&gt;"), std::string::npos);  // the excluded class of j = 1
  EXPECT_EQ(html.find("b&b"), std::string::npos);
}

TEST(HtmlReport, OneSectionPerScoreWithDrawnPlotsAndNoExternalResources) {
  const std::vector<std::string> classes = {"c0", "c1", "c2"};
  const auto html = edge::eval::render_html_report(
      {report("energy_sum", {"bag", "noise"}, {0, 1, 2}, classes), report("max_logit", {"bag", "noise"}, {0, 1, 2}, classes)});
  EXPECT_EQ(count_occurrences(html, "<section class=\"score\""), 2u);
  EXPECT_NE(html.find("id=\"score-energy_sum\""), std::string::npos);
  EXPECT_NE(html.find("<a href=\"#score-max_logit\">max_logit</a>"), std::string::npos);  // summary table
  EXPECT_LT(html.find("class=\"summary\""), html.find("<section"));
  EXPECT_EQ(count_occurrences(html, "<svg class=\"plot\""), 6u);
  EXPECT_EQ(count_occurrences(html, "data-kind=\"histogram\""), 2u);
  EXPECT_EQ(count_occurrences(html, "data-kind=\"roc\""), 2u);
  EXPECT_EQ(count_occurrences(html, "data-kind=\"tail\""), 2u);
  // Per score: 4 histograms (ID, tail j = 2, bag, noise) + 2 ROC curves + 3 tail lines (2 sets, mean).
  const std::regex drawn("<path class=\"series\" data-label=\"[^\"]*\" d=\"M[-0-9.]+,[-0-9.]+(L[-0-9.]+,[-0-9.]+)+");
  const auto n = std::distance(std::sregex_iterator(html.begin(), html.end(), drawn), std::sregex_iterator());
  EXPECT_EQ(n, 18);
  EXPECT_NE(html.find("data-label=\"bag (AUROC "), std::string::npos);
  EXPECT_NE(html.find("ID tail (j = 2) (n="), std::string::npos);
  const auto convention = edge::metrics::to_string(edge::metrics::FprConvention::IdPositiveNearest);
  EXPECT_NE(html.find("<td>" + convention + "</td>"), std::string::npos);  // meta table
  EXPECT_EQ(count_occurrences(html, convention), 3u);                                   // and each section
  for (const char* external : {"http", "<script", "<link", "url(", "@import", "src="})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
}

TEST(HtmlReport, NoTailGridMeansNoTailPlot) {
  const auto html = edge::eval::render_html_report({report("energy_sum", {"bag"}, {}, {"c0", "c1", "c2"})});
  EXPECT_EQ(count_occurrences(html, "<svg class=\"plot\""), 2u);
  EXPECT_EQ(html.find("Head/tail"), std::string::npos);
  EXPECT_THROW(edge::eval::render_html_report({}), edge::UsageError);
}

}  // namespace
