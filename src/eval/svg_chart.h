// Inline SVG line charts (axes, ticks, legend) for the HTML report: no scripts, no external
// resources. Internal to src/eval.
#pragma once

#include <string>
#include <vector>

namespace edge::eval {

struct ChartSeries {
  std::string label;             // legend text (escaped when drawn)
  std::string color;             // CSS colour, e.g. "#1f77b4"
  std::vector<double> x, y;      // a NaN y breaks the line
  bool fill = false;             // shade the area down to y = 0
  bool dashed = false;
  bool markers = false;          // a dot at every finite point
  double width = 1.8;
};

struct Chart {
  std::string kind;              // data-kind attribute: "histogram", "roc", "tail"
  std::string title, x_label, y_label;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool diagonal = false;         // a dotted y = x line (chance level of a ROC plot)
  bool integer_x = false;        // x ticks at whole numbers only
  std::vector<ChartSeries> series;
};

// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(const std::string& s);

// One <svg class="plot" data-kind=... data-series=N> element; each series is one
// <path class="series"> (and its legend entry).
std::string render_svg_chart(const Chart& chart);

}  // namespace edge::eval
