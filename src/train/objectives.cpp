#include "edge/train/objectives.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::train {

namespace {

struct ModeName {
  Mode mode;
  const char* name;
};
constexpr ModeName kModes[] = {{Mode::Normal, "normal"}, {Mode::Joint, "joint"},   {Mode::OEML, "OEML"},
                               {Mode::EnergyML, "energyML"}, {Mode::OE, "OE"}, {Mode::Energy, "energy"},
                               {Mode::OECC, "OECC"}};

}  // namespace

Mode parse_mode(const std::string& name) {
  for (const auto& m : kModes)
    if (name == m.name) return m.mode;
  throw UsageError(fmt::format("--score: unknown training mode '{}' (expected one of: {})", name,
                               fmt::join(mode_names(), ", ")));
}

std::string mode_name(Mode mode) {
  for (const auto& m : kModes)
    if (m.mode == mode) return m.name;
  return "?";
}

std::vector<std::string> mode_names() {
  std::vector<std::string> out;
  for (const auto& m : kModes) out.emplace_back(m.name);
  return out;
}

bool uses_outliers(Mode mode) { return mode != Mode::Normal; }

LossTerms compute_objective(Mode mode, const torch::Tensor& z_in, const torch::Tensor& y,
                            const torch::Tensor& z_oe, const ObjectiveParams& p) {
  if (uses_outliers(mode))
    TORCH_CHECK(z_oe.defined() && z_oe.dim() == 2 && z_oe.size(0) >= 1 && z_oe.size(1) == z_in.size(1),
                "mode ", mode_name(mode), ": expected OE logits [B_oe >= 1, ", z_in.size(1), "], got ",
                z_oe.defined() ? z_oe.sizes() : c10::IntArrayRef{});
  switch (mode) {
    case Mode::Normal: return bce_loss(z_in, y);
    case Mode::Joint: return edge_loss(z_in, y, z_oe, p.edge);
    case Mode::OEML:
    case Mode::OE: {
      LossTerms t = mode == Mode::OEML ? bce_loss(z_in, y)
                                       : LossTerms{soft_target_cross_entropy(z_in, y), {}};
      if (mode == Mode::OE) t.parts.emplace_back("ce", t.total);
      const auto oe = uniform_ce(z_oe);
      t.total = t.total + 0.5 * oe;
      t.parts.emplace_back("oe", oe);
      return t;
    }
    case Mode::EnergyML:
    case Mode::Energy: {
      LossTerms t = mode == Mode::EnergyML ? bce_loss(z_in, y)
                                           : LossTerms{soft_target_cross_entropy(z_in, y), {}};
      if (mode == Mode::Energy) t.parts.emplace_back("ce", t.total);
      const auto reg = energy_margin_loss(z_in, z_oe, p.m_in, p.m_out);
      t.total = t.total + 0.1 * reg;
      t.parts.emplace_back("energy", reg);
      return t;
    }
    case Mode::OECC: {
      const auto ce = soft_target_cross_entropy(z_in, y);
      const auto max_prob_in = std::get<0>(torch::softmax(z_in, 1).max(1));
      const auto conf_in = (max_prob_in - p.a_tr).pow(2).sum();
      const auto uniform_out = (torch::softmax(z_oe, 1) - 1.0 / double(z_oe.size(1))).abs().sum();
      return {ce + p.lambda_1 * conf_in + p.lambda_2 * uniform_out,
              {{"ce", ce}, {"conf_in", conf_in}, {"uniform_out", uniform_out}}};
    }
  }
  throw UsageError("unhandled training mode");
}

}  // namespace edge::train
