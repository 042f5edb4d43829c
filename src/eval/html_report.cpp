#include "edge/eval/html_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "eval/svg_chart.h"

namespace edge::eval {

namespace {

constexpr const char* kIdColor = "#1f77b4";
constexpr const char* kTailColor = "#ff7f0e";
constexpr const char* kMeanColor = "#222222";
// OOD sets, by their index in the report (the same colour in every plot).
const std::vector<std::string> kOodColors = {"#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                                             "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"};

const std::string& ood_color(size_t i) { return kOodColors[i % kOodColors.size()]; }

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", 100.0 * v) : "-"; }

std::string section_id(const std::string& score) {
  std::string id = "score-";
  for (const char c : score) id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
  return id;
}

constexpr const char* kStyle = R"(body{font-family:sans-serif;margin:24px;color:#222;max-width:1700px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child,th.text,td.text{text-align:left}tr.mean td{font-weight:bold;background:#f4f4f4}
table.meta td{text-align:left;border:none;padding:1px 8px}section{border-top:2px solid #ddd;margin-top:24px}
.plots{display:flex;flex-wrap:wrap;gap:12px}svg.plot{background:#fafafa;font-size:11px}
svg .title{font-size:13px;font-weight:bold}svg .label{font-size:12px}.note{color:#555;font-size:13px})";

Chart histogram_chart(const OodReport& r) {
  Chart c;
  c.kind = "histogram";
  c.title = "Score histograms (density)";
  c.x_label = "score (higher = more in-distribution)";
  c.y_label = "density";
  const auto& e = r.histograms.edges;
  c.x0 = e.front();
  c.x1 = e.back();
  double top = 0;
  size_t ood_index = 0;
  for (const auto& h : r.histograms.sets) {
    int64_t n = 0;
    for (auto k : h.counts) n += k;
    ChartSeries s;
    s.label = fmt::format("{} (n={})", h.name, n);
    s.color = h.role == HistogramRole::IdTest ? kIdColor : h.role == HistogramRole::IdTail ? kTailColor
                                                                                           : ood_color(ood_index++);
    s.fill = true;
    s.dashed = h.role == HistogramRole::IdTail;
    if (n == 0) continue;  // an empty set has no density
    for (size_t k = 0; k < h.counts.size(); ++k) {
      const double d = double(h.counts[k]) / (double(n) * (e[k + 1] - e[k]));
      top = std::max(top, d);
      s.x.insert(s.x.end(), {e[k], e[k + 1]});
      s.y.insert(s.y.end(), {d, d});
    }
    c.series.push_back(std::move(s));
  }
  c.y1 = top > 0 ? top * 1.05 : 1;
  return c;
}

Chart roc_chart(const OodReport& r) {
  Chart c;
  c.kind = "roc";
  c.title = "ROC (ID positive)";
  c.x_label = "false-positive rate (OOD accepted as ID)";
  c.y_label = "true-positive rate (ID recall)";
  c.diagonal = true;
  for (size_t i = 0; i < r.roc.size(); ++i) {
    if (r.roc[i].empty()) continue;
    ChartSeries s;
    s.label = fmt::format("{} (AUROC {}%)", r.rows[i].ood_set, pct(r.rows[i].auroc));
    s.color = ood_color(i);
    s.x = r.roc[i].fpr;
    s.y = r.roc[i].tpr;
    c.series.push_back(std::move(s));
  }
  return c;
}

Chart tail_chart(const OodReport& r) {
  std::vector<const TailBreakdown*> ts;
  for (const auto& t : r.tail) ts.push_back(&t);
  std::stable_sort(ts.begin(), ts.end(), [](auto* a, auto* b) { return a->j < b->j; });
  Chart c;
  c.kind = "tail";
  c.title = "FPR95 against j (head classes excluded)";
  c.x_label = "j (ID samples with none of the j most frequent classes)";
  c.y_label = "FPR95 (%)";
  c.x0 = double(ts.front()->j);
  c.x1 = double(ts.back()->j);
  if (c.x1 <= c.x0) { c.x0 -= 0.5; c.x1 += 0.5; }
  c.y1 = 100;
  c.integer_x = true;
  const size_t n_rows = ts.front()->rows.size();  // per OOD set, then the mean
  for (size_t i = 0; i < n_rows; ++i) {
    const bool mean = i + 1 == n_rows;
    ChartSeries s;
    s.label = mean ? "mean" : ts.front()->rows[i].ood_set;
    s.color = mean ? kMeanColor : ood_color(i);
    s.dashed = mean;
    s.markers = true;
    s.width = mean ? 2.6 : 1.8;
    for (const auto* t : ts) {
      s.x.push_back(double(t->j));
      s.y.push_back(100.0 * t->rows[i].fpr95);
    }
    c.series.push_back(std::move(s));
  }
  return c;
}

void metric_table(std::ostringstream& o, const OodReport& r) {
  o << "<table class=\"sets\"><tr><th>OOD set</th><th>FPR95</th><th>AUROC</th><th>AUPR-In</th><th>AUPR-Out</th>"
       "<th>n_id</th><th>n_ood</th></tr>\n";
  for (const auto& row : r.rows)
    o << fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     row.ood_set == "mean" && &row == &r.rows.back() ? " class=\"mean\"" : "",
                     html_escape(row.ood_set), pct(row.fpr95), pct(row.auroc), pct(row.aupr), pct(row.aupr_out),
                     row.n_id, row.n_ood);
  o << "</table>\n";
}

void tail_table(std::ostringstream& o, const OodReport& r) {
  const auto& sets = r.tail.front().rows;
  o << "<table class=\"tail\"><tr><th>j</th><th>n_id</th>";
  for (size_t i = 0; i + 1 < sets.size(); ++i) o << "<th>FPR95 " << html_escape(sets[i].ood_set) << "</th>";
  o << "<th>FPR95 mean</th><th>AUROC mean</th><th>AUPR-In mean</th><th>AUPR-Out mean</th>"
       "<th class=\"text\">excluded classes</th></tr>\n";
  for (const auto& t : r.tail) {
    o << fmt::format("<tr><td>{}</td><td>{}</td>", t.j, t.rows.back().n_id);
    for (const auto& row : t.rows) o << "<td>" << pct(row.fpr95) << "</td>";
    const auto& m = t.rows.back();
    std::vector<std::string> names;
    for (auto k : t.excluded_classes) names.push_back(html_escape(r.class_names[size_t(k)]));
    o << fmt::format("<td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>\n", pct(m.auroc), pct(m.aupr),
                     pct(m.aupr_out), names.empty() ? "(none)" : fmt::format("{}", fmt::join(names, ", ")));
  }
  o << "</table>\n";
}

}  // namespace

std::string render_html_report(const std::vector<OodReport>& reports, const HtmlReportInfo& info) {
  if (reports.empty()) throw UsageError("HTML report: no score reports to render");
  const OodReport& first = reports.front();
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << html_escape(info.title)
    << "</title>\n<style>\n" << kStyle << "\n</style>\n</head>\n<body>\n<h1>" << html_escape(info.title) << "</h1>\n";
  o << "<table class=\"meta\">\n";
  auto meta = [&](const std::string& k, const std::string& v) {
    o << "<tr><td><b>" << html_escape(k) << "</b></td><td>" << html_escape(v) << "</td></tr>\n";
  };
  for (const auto& [k, v] : info.meta) meta(k, v);
  std::vector<std::string> names;
  for (const auto& r : reports) names.push_back(r.score);
  meta("scores", fmt::format("{}", fmt::join(names, ", ")));
  meta("FPR convention", first.convention);
  meta("score direction", "higher = more in-distribution; ID is the positive class for AUROC / AUPR-In");
  meta("ID mAP", fmt::format("{}% (reference trapezoidal PR area), {}% (average precision)", pct(first.id_map),
                             pct(first.id_map_ap)));
  o << "</table>\n";

  const bool has_tail = !first.tail.empty();
  const int64_t max_j = has_tail ? std::max_element(first.tail.begin(), first.tail.end(), [](auto& a, auto& b) {
                                     return a.j < b.j;
                                   })->j
                                 : 0;
  o << "<h2>Summary: mean over OOD sets (%)</h2>\n<table class=\"summary\"><tr><th>score</th><th>FPR95</th>"
       "<th>AUROC</th><th>AUPR-In</th><th>AUPR-Out</th>";
  if (has_tail) o << fmt::format("<th>FPR95, j = {}</th>", max_j);
  o << "</tr>\n";
  for (const auto& r : reports) {
    const auto& m = r.mean();
    o << fmt::format("<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                     html_escape(section_id(r.score)), html_escape(r.score), pct(m.fpr95), pct(m.auroc), pct(m.aupr),
                     pct(m.aupr_out));
    if (has_tail) o << "<td>" << pct(r.tail_for(max_j).rows.back().fpr95) << "</td>";
    o << "</tr>\n";
  }
  o << "</table>\n";

  for (const auto& r : reports) {
    o << fmt::format("<section class=\"score\" id=\"{}\" data-score=\"{}\">\n<h2>Score: {}</h2>\n",
                     html_escape(section_id(r.score)), html_escape(r.score), html_escape(r.score));
    o << "<p class=\"note\">Metrics in %. " << html_escape(r.convention) << ".</p>\n";
    metric_table(o, r);
    o << "<div class=\"plots\">\n" << render_svg_chart(histogram_chart(r)) << render_svg_chart(roc_chart(r));
    if (!r.tail.empty()) o << render_svg_chart(tail_chart(r));
    o << "</div>\n";
    if (!r.tail.empty()) {
      o << "<h3>Head/tail breakdown</h3>\n<p class=\"note\">ID test images containing none of the j most frequent "
           "classes, against each OOD set.</p>\n";
      tail_table(o, r);
    }
    o << "</section>\n";
  }
  o << "</body>\n</html>\n";
  return o.str();
}

}  // namespace edge::eval
