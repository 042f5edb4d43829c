#include "edge/metrics/ood_metrics.h"
#include "edge/metrics/score_sort.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

namespace edge::metrics {
namespace {

// Inputs from this size on sort the ID and OOD sets on two threads.
constexpr std::size_t kParallelMin = 1 << 16;

void check_level(double level, const char* name) {
  if (!(level > 0.0 && level <= 1.0)) {
    throw std::invalid_argument(std::string("edge::metrics: ") + name +
                                " must lie in (0, 1], got " + std::to_string(level));
  }
}

struct SweepResult {
  double auroc = 0.0;
  double aupr_in = 0.0;
  double aupr_out = 0.0;
  FprAtRecall nearest;  // EDGE reference rule (ID positive)
  FprAtRecall ood_pos;  // OpenOOD rule (OOD positive, negated scores)
};

// The running sums of one merge sweep over the distinct score values of the two
// descending-sorted sets, advanced one group of equal scores at a time.
//
// At the group of score v (a ID and b OOD samples equal to v), with tps/fps the cumulative
// ID/OOD counts of scores >= v (ID positive) the OOD-positive view of the same threshold
// (scores <= v, i.e. -score >= -v) has tps_out = N - fps_before and fps_out = P - tps_before.
struct Sweep {
  std::size_t n_id = 0, n_ood = 0;
  double recall_level = 0.95, tpr_level = 0.95;
  bool drop_intermediate = true;

  SweepResult r;
  std::uint64_t tps = 0, fps = 0;
  std::uint64_t auc2 = 0;  // 2 * (area under the ROC curve) * P * N; exact (bounded by 2PN)
  double ap_in = 0.0, ap_out = 0.0;
  bool full_recall_seen = false;
  double best_dist = std::numeric_limits<double>::infinity();
  std::size_t prev_a = 0, prev_b = 0;
  bool first_group = true;

  void add_group(double v, std::size_t a, std::size_t b, bool last_group) {
    const double P = static_cast<double>(n_id), N = static_cast<double>(n_ood);
    const std::uint64_t tps_before = tps, fps_before = fps;
    tps += a;
    fps += b;
    // AUROC (trapezoid over ROC points, ID positive).
    auc2 += static_cast<std::uint64_t>(b) * (tps_before + tps);
    // AUPR-In: (R_k - R_{k-1}) * P_k, recall steps by a / P.
    if (a > 0) ap_in += static_cast<double>(a) * (static_cast<double>(tps) / static_cast<double>(tps + fps));
    // AUPR-Out: OOD positive on negated scores; this group is a threshold point there too.
    if (b > 0) {
      const double tps_out = static_cast<double>(n_ood - fps_before);
      const double fps_out = static_cast<double>(n_id - tps_before);
      ap_out += static_cast<double>(b) * (tps_out / (tps_out + fps_out));
    }
    // EDGE reference rule: forward order is increasing recall, so "first minimum in
    // decreasing-recall order" is the LAST minimum (<=) up to the first full-recall point.
    if (!full_recall_seen) {
      const double dist = std::fabs(static_cast<double>(tps) / P - recall_level);
      if (dist <= best_dist) {
        best_dist = dist;
        r.nearest.fpr = static_cast<double>(fps) / N;
        r.nearest.threshold = v;
      }
      if (tps == n_id) full_recall_seen = true;
    }
    // OpenOOD rule. sklearn orders points by increasing original score; a point survives
    // drop_intermediate iff it is an end point or its group counts differ from those of the
    // group just above it (second differences of the cumulative counts). TPR decreases along
    // this sweep, so the answer is the last kept point with TPR >= level.
    const bool kept = !drop_intermediate || first_group || last_group || a != prev_a || b != prev_b;
    if (kept && static_cast<double>(n_ood - fps_before) / N >= tpr_level) {
      r.ood_pos.fpr = static_cast<double>(n_id - tps_before) / P;
      r.ood_pos.threshold = v;
    }
    prev_a = a;
    prev_b = b;
    first_group = false;
  }

  SweepResult finish() {
    // The lowest-score point has TPR 1 and is always kept, so for tpr_level <= 1 a point exists.
    r.auroc = static_cast<double>(auc2) / (2.0 * static_cast<double>(n_id) * static_cast<double>(n_ood));
    r.aupr_in = ap_in / static_cast<double>(n_id);
    r.aupr_out = ap_out / static_cast<double>(n_ood);
    return r;
  }
};

// id, ood: the two sets' keys ascending (score_sort.h), i.e. their scores descending.
SweepResult sweep(const std::vector<std::uint64_t>& id, const std::vector<std::uint64_t>& ood,
                  double recall_level, double tpr_level, bool drop_intermediate) {
  Sweep s;
  s.n_id = id.size();
  s.n_ood = ood.size();
  s.recall_level = recall_level;
  s.tpr_level = tpr_level;
  s.drop_intermediate = drop_intermediate;
  std::size_t i = 0, j = 0;
  while (i < s.n_id || j < s.n_ood) {
    const std::uint64_t key = i < s.n_id && j < s.n_ood ? std::min(id[i], ood[j]) : i < s.n_id ? id[i] : ood[j];
    std::size_t a = 0, b = 0;
    for (; i < s.n_id && id[i] == key; ++i) ++a;
    for (; j < s.n_ood && ood[j] == key; ++j) ++b;
    s.add_group(score_of_key(key), a, b, i == s.n_id && j == s.n_ood);
  }
  return s.finish();
}

SweepResult run(ScoreView id_scores, ScoreView ood_scores, double recall_level,
                double tpr_level, bool drop_intermediate) {
  check_level(recall_level, "recall_level");
  check_level(tpr_level, "tpr level");
  // The two sorts are independent: for large inputs the OOD set is sorted on a second
  // thread (errors are rethrown in the order the sequential code would raise them).
  std::vector<std::uint64_t> id, ood;
  if (id_scores.size >= kParallelMin && ood_scores.size >= kParallelMin) {
    std::exception_ptr ood_error;
    std::thread worker([&] {
      try {
        ood = sort_score_keys(ood_scores, "OOD");
      } catch (...) {
        ood_error = std::current_exception();
      }
    });
    std::exception_ptr id_error;
    try {
      id = sort_score_keys(id_scores, "ID");
    } catch (...) {
      id_error = std::current_exception();
    }
    worker.join();
    if (id_error) std::rethrow_exception(id_error);
    if (ood_error) std::rethrow_exception(ood_error);
  } else {
    id = sort_score_keys(id_scores, "ID");
    ood = sort_score_keys(ood_scores, "OOD");
  }
  return sweep(id, ood, recall_level, tpr_level, drop_intermediate);
}

}  // namespace

double auroc(ScoreView id_scores, ScoreView ood_scores) {
  return run(id_scores, ood_scores, 0.95, 0.95, true).auroc;
}
double auroc(const std::vector<double>& id_scores, const std::vector<double>& ood_scores) {
  return auroc(ScoreView(id_scores), ScoreView(ood_scores));
}

double aupr_in(ScoreView id_scores, ScoreView ood_scores) {
  return run(id_scores, ood_scores, 0.95, 0.95, true).aupr_in;
}
double aupr_in(const std::vector<double>& id_scores, const std::vector<double>& ood_scores) {
  return aupr_in(ScoreView(id_scores), ScoreView(ood_scores));
}

double aupr_out(ScoreView id_scores, ScoreView ood_scores) {
  return run(id_scores, ood_scores, 0.95, 0.95, true).aupr_out;
}
double aupr_out(const std::vector<double>& id_scores, const std::vector<double>& ood_scores) {
  return aupr_out(ScoreView(id_scores), ScoreView(ood_scores));
}

FprAtRecall fpr_at_recall_nearest(ScoreView id_scores, ScoreView ood_scores,
                                  double recall_level) {
  return run(id_scores, ood_scores, recall_level, 0.95, true).nearest;
}
FprAtRecall fpr_at_recall_nearest(const std::vector<double>& id_scores,
                                  const std::vector<double>& ood_scores, double recall_level) {
  return fpr_at_recall_nearest(ScoreView(id_scores), ScoreView(ood_scores), recall_level);
}

FprAtRecall fpr_at_tpr_ood_positive(ScoreView id_scores, ScoreView ood_scores, double tpr,
                                    bool drop_intermediate) {
  return run(id_scores, ood_scores, 0.95, tpr, drop_intermediate).ood_pos;
}
FprAtRecall fpr_at_tpr_ood_positive(const std::vector<double>& id_scores,
                                    const std::vector<double>& ood_scores, double tpr,
                                    bool drop_intermediate) {
  return fpr_at_tpr_ood_positive(ScoreView(id_scores), ScoreView(ood_scores), tpr,
                                 drop_intermediate);
}

OodMetrics compute_ood_metrics(ScoreView id_scores, ScoreView ood_scores, FprConvention conv) {
  const SweepResult s = run(id_scores, ood_scores, 0.95, 0.95, true);
  OodMetrics m;
  m.auroc = s.auroc;
  m.aupr_in = s.aupr_in;
  m.aupr_out = s.aupr_out;
  m.convention = conv;
  const FprAtRecall& f = conv == FprConvention::OodPositive ? s.ood_pos : s.nearest;
  m.fpr95 = f.fpr;
  m.threshold = f.threshold;
  return m;
}
OodMetrics compute_ood_metrics(const std::vector<double>& id_scores,
                               const std::vector<double>& ood_scores, FprConvention conv) {
  return compute_ood_metrics(ScoreView(id_scores), ScoreView(ood_scores), conv);
}

std::string to_string(FprConvention conv) {
  switch (conv) {
    case FprConvention::IdPositiveNearest:
      return "FPR95: ID positive, nearest-0.95 recall point (EDGE/JointEnergy reference rule)";
    case FprConvention::OodPositive:
      return "FPR95: OOD positive on negated scores, first sklearn roc_curve point with "
             "TPR >= 0.95 (OpenOOD rule)";
  }
  return "FPR95: unknown convention";
}

}  // namespace edge::metrics
