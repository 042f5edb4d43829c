#include "edge/metrics/multilabel_map.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

namespace edge::metrics {
namespace {

struct Entry {
  float score;
  bool positive;
};

void validate(const std::vector<float>& scores, const std::vector<float>& labels, int64_t n,
              int64_t c) {
  if (n <= 0 || c <= 0) {
    throw std::invalid_argument("edge::metrics mAP: need n > 0 samples and c > 0 classes, got n=" +
                                std::to_string(n) + ", c=" + std::to_string(c));
  }
  const auto expected = static_cast<std::size_t>(n) * static_cast<std::size_t>(c);
  if (scores.size() != expected || labels.size() != expected) {
    throw std::invalid_argument("edge::metrics mAP: scores (" + std::to_string(scores.size()) +
                                ") and labels (" + std::to_string(labels.size()) +
                                ") must both hold n*c = " + std::to_string(expected) +
                                " values");
  }
  const auto cols = static_cast<std::size_t>(c);
  for (std::size_t k = 0; k < expected; ++k) {
    if (!std::isfinite(scores[k])) {
      throw std::invalid_argument("edge::metrics mAP: score at row " + std::to_string(k / cols) +
                                  ", class " + std::to_string(k % cols) +
                                  " is not finite (NaN or infinity)");
    }
    if (labels[k] != 0.0f && labels[k] != 1.0f) {
      throw std::invalid_argument("edge::metrics mAP: label at row " + std::to_string(k / cols) +
                                  ", class " + std::to_string(k % cols) + " is " +
                                  std::to_string(labels[k]) + "; labels must be 0 or 1");
    }
  }
}

enum class Kind { Trapezoid, StepAp };

// Area under one class's PR curve; NaN when the class has no positive.
double class_area(std::vector<Entry>& col, Kind kind) {
  std::size_t n_pos = 0;
  for (const Entry& e : col) n_pos += e.positive ? 1 : 0;
  if (n_pos == 0) return std::numeric_limits<double>::quiet_NaN();
  std::sort(col.begin(), col.end(),
            [](const Entry& x, const Entry& y) { return x.score > y.score; });

  const double P = static_cast<double>(n_pos);
  std::size_t tps = 0, fps = 0;
  double prev_recall = 0.0, prev_precision = 1.0;  // sklearn's appended (R=0, P=1) point
  double area = 0.0;
  std::size_t k = 0;
  while (k < col.size()) {
    const float v = col[k].score;
    std::size_t a = 0, total = 0;
    while (k < col.size() && col[k].score == v) {
      a += col[k].positive ? 1 : 0;
      ++total;
      ++k;
    }
    tps += a;
    fps += total - a;
    const double precision = static_cast<double>(tps) / static_cast<double>(tps + fps);
    if (kind == Kind::StepAp) {
      if (a > 0) area += static_cast<double>(a) * precision;
    } else {
      const double recall = static_cast<double>(tps) / P;
      area += (recall - prev_recall) * (precision + prev_precision) * 0.5;
      prev_recall = recall;
      prev_precision = precision;
    }
  }
  return kind == Kind::StepAp ? area / P : area;
}

double mean_over_classes(const std::vector<float>& scores, const std::vector<float>& labels,
                         int64_t n, int64_t c, std::vector<double>* per_class, Kind kind) {
  validate(scores, labels, n, c);
  const auto rows = static_cast<std::size_t>(n);
  const auto cols = static_cast<std::size_t>(c);
  if (per_class) per_class->assign(cols, std::numeric_limits<double>::quiet_NaN());

  std::vector<Entry> col(rows);
  double sum = 0.0;
  std::size_t used = 0;
  for (std::size_t cls = 0; cls < cols; ++cls) {
    for (std::size_t r = 0; r < rows; ++r) {
      col[r] = Entry{scores[r * cols + cls], labels[r * cols + cls] == 1.0f};
    }
    const double v = class_area(col, kind);
    if (per_class) (*per_class)[cls] = v;
    if (!std::isnan(v)) {
      sum += v;
      ++used;
    }
  }
  if (used == 0) {
    throw std::invalid_argument(
        "edge::metrics mAP: no class has a positive label; mAP is undefined");
  }
  return sum / static_cast<double>(used);
}

}  // namespace

double map_trapezoid(const std::vector<float>& scores, const std::vector<float>& labels,
                     int64_t n, int64_t c, std::vector<double>* per_class) {
  return mean_over_classes(scores, labels, n, c, per_class, Kind::Trapezoid);
}

double map_average_precision(const std::vector<float>& scores, const std::vector<float>& labels,
                             int64_t n, int64_t c, std::vector<double>* per_class) {
  return mean_over_classes(scores, labels, n, c, per_class, Kind::StepAp);
}

}  // namespace edge::metrics
