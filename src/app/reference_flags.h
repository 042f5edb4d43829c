// The reference's (weg.py / eval.py) way of naming an OOD score: --ood MEASURE --method max|sum.
#pragma once

#include <string>

namespace edge::app {

// Maps the reference's `--ood` measure (energy, logit, prob, odin, M, msp, lof, isol, ...) and
// `--method` (max | sum) to one of this project's score names (score::score_names()), e.g.
// energy + sum -> energy_sum, logit + max -> max_logit, M + max -> mahalanobis_max. Measures
// without a max/sum variant ignore the method. Throws UsageError naming the flag otherwise.
std::string reference_score_name(const std::string& ood, const std::string& method);

}  // namespace edge::app
