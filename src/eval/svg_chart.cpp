#include "eval/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

#include <fmt/format.h>

namespace edge::eval {

namespace {

constexpr double kWidth = 540, kHeight = 320;
// The legend sits right of the plot area, where it hides no data.
constexpr double kLeft = 58, kRight = 182, kTop = 28, kBottom = 46;

// About `target` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target, int& decimals, double min_step = 0) {
  decimals = 0;
  if (!(hi > lo)) return {};
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double frac = raw / mag;
  const double step = std::max(min_step, (frac < 1.5 ? 1 : frac < 3.5 ? 2 : frac < 7.5 ? 5 : 10) * mag);
  decimals = std::max(0, -int(std::floor(std::log10(step) + 1e-9)));
  std::vector<double> ticks;
  // Integer multiples of the step, so 0 is exactly 0 (never "-0.0").
  for (auto i = int64_t(std::ceil(lo / step - 1e-9)); double(i) * step <= hi + step * 1e-9; ++i)
    ticks.push_back(double(i) * step);
  return ticks;
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string render_svg_chart(const Chart& c) {
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  const double xs = c.x1 > c.x0 ? pw / (c.x1 - c.x0) : 0, ys = c.y1 > c.y0 ? ph / (c.y1 - c.y0) : 0;
  auto px = [&](double x) { return kLeft + (x - c.x0) * xs; };
  auto py = [&](double y) { return kTop + ph - (y - c.y0) * ys; };
  std::ostringstream o;
  o << fmt::format("<svg class=\"plot\" data-kind=\"{}\" data-series=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" "
                   "height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
                   html_escape(c.kind), c.series.size(), kWidth, kHeight, kWidth, kHeight, html_escape(c.title));
  o << fmt::format("<text class=\"title\" x=\"{}\" y=\"16\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2,
                   html_escape(c.title));
  o << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>\n", kLeft, kTop,
                   pw, ph);
  int dx = 0, dy = 0;
  for (double t : nice_ticks(c.x0, c.x1, 6, dx, c.integer_x ? 1.0 : 0.0))
    o << fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#eee\"/><text class=\"tick\" "
                     "x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:.{5}f}</text>\n",
                     px(t), kTop, kTop + ph, kTop + ph + 14, t, dx);
  for (double t : nice_ticks(c.y0, c.y1, 5, dy))
    o << fmt::format("<line x1=\"{1}\" x2=\"{2}\" y1=\"{0:.1f}\" y2=\"{0:.1f}\" stroke=\"#eee\"/><text class=\"tick\" "
                     "x=\"{3}\" y=\"{0:.1f}\" dy=\"4\" text-anchor=\"end\">{4:.{5}f}</text>\n",
                     py(t), kLeft, kLeft + pw, kLeft - 4, t, dy);
  o << fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2,
                   kHeight - 8, html_escape(c.x_label));
  o << fmt::format("<text class=\"label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   kTop + ph / 2, html_escape(c.y_label));
  if (c.diagonal)
    o << fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" stroke-dasharray=\"3 3\"/>\n",
                     px(c.x0), py(c.y0), px(c.x1), py(c.y1));
  for (const auto& s : c.series) {
    // Runs of finite points; each run is one sub-path (filled down to y = 0 if asked).
    std::string d, dots;
    size_t k = 0;
    while (k < s.x.size()) {
      if (!std::isfinite(s.y[k])) { ++k; continue; }
      const size_t start = k;
      while (k < s.x.size() && std::isfinite(s.y[k])) ++k;
      if (s.fill) d += fmt::format("M{:.2f},{:.2f}", px(s.x[start]), py(std::max(c.y0, 0.0)));
      for (size_t m = start; m < k; ++m) {
        d += fmt::format("{}{:.2f},{:.2f}", (m == start && !s.fill) ? "M" : "L", px(s.x[m]), py(s.y[m]));
        if (s.markers)
          dots += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"{}\"/>", px(s.x[m]), py(s.y[m]),
                              html_escape(s.color));
      }
      if (s.fill) d += fmt::format("L{:.2f},{:.2f}Z", px(s.x[k - 1]), py(std::max(c.y0, 0.0)));
    }
    o << fmt::format("<path class=\"series\" data-label=\"{}\" d=\"{}\" fill=\"{}\" fill-opacity=\"0.15\" "
                     "stroke=\"{}\" stroke-width=\"{}\"{}/>{}\n",
                     html_escape(s.label), d, s.fill ? html_escape(s.color) : "none", html_escape(s.color), s.width,
                     s.dashed ? " stroke-dasharray=\"6 3\"" : "", dots);
  }
  double ly = kTop + 8;
  for (const auto& s : c.series) {
    const double lx = kLeft + pw + 10;
    o << fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"3\"{}/>"
                     "<text class=\"legend\" x=\"{}\" y=\"{:.1f}\" dy=\"4\">{}</text>\n",
                     lx, lx + 18, ly, ly, html_escape(s.color), s.dashed ? " stroke-dasharray=\"6 3\"" : "", lx + 22,
                     ly, html_escape(s.label));
    ly += 15;
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace edge::eval
