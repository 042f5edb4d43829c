// The self-contained HTML report of an evaluation (eval.html): summary table, then per score
// the metric tables and inline SVG plots (score histograms, ROC curves, FPR95 against j).
// No scripts, fonts or other external resources: it renders offline.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "edge/eval/ood_report.h"

namespace edge::eval {

struct HtmlReportInfo {
  std::string title = "EDGE OOD evaluation";
  std::vector<std::pair<std::string, std::string>> meta;  // (label, value) lines under the title, e.g. the checkpoint
};

// Every string from `reports` and `info` is HTML-escaped. Throws UsageError for no reports.
std::string render_html_report(const std::vector<OodReport>& reports, const HtmlReportInfo& info = {});

}  // namespace edge::eval
