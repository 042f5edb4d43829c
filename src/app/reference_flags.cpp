#include "app/reference_flags.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"

namespace edge::app {

std::string reference_score_name(const std::string& ood, const std::string& method) {
  if (method != "max" && method != "sum")
    throw UsageError(fmt::format("--method: expected max or sum, got '{}'", method));
  // Measures with a max and a sum variant: our name for each.
  static const std::map<std::string, std::map<std::string, std::string>> paired = {
      {"energy", {{"max", "energy_max"}, {"sum", "energy_sum"}}},
      {"logit", {{"max", "max_logit"}, {"sum", "logit_sum"}}},
      {"prob", {{"max", "prob_max"}, {"sum", "prob_sum"}}},
      {"odin", {{"max", "odin_max"}, {"sum", "odin_sum"}}},
      {"M", {{"max", "mahalanobis_max"}, {"sum", "mahalanobis_sum"}}}};
  if (const auto it = paired.find(ood); it != paired.end()) return it->second.at(method);
  // The rest are single scores; accept the reference's spelling and ours.
  static const std::map<std::string, std::string> single = {{"msp", "msp"},   {"lof", "lof"},   {"isol", "isol"},
                                                            {"energymc", "energy_mc"}, {"vim", "vim"},
                                                            {"react", "react"}, {"knn", "knn"},
                                                            {"gradnorm", "gradnorm"}, {"kl", "kl"}};
  if (const auto it = single.find(ood); it != single.end()) return it->second;
  std::vector<std::string> known;
  for (const auto& [k, v] : paired) known.push_back(k);
  for (const auto& [k, v] : single) known.push_back(k);
  throw UsageError(fmt::format("--ood: unknown measure '{}' (expected one of {})", ood, fmt::join(known, ", ")));
}

}  // namespace edge::app
