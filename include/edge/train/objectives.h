// The training modes of the reference (`--score`), spec §2-3, as one dispatch.
//
// ATOM and SOFL exist in the reference but are broken there (ATOM attacks the backbone
// alone and labels OE with an extra class the head does not have; SOFL draws labels of
// non-existent classes): they are not offered rather than offered half-working.
#pragma once

#include <string>
#include <vector>

#include "edge/train/losses.h"

namespace edge::train {

enum class Mode { Normal, Joint, OEML, EnergyML, OE, Energy, OECC };

// Accepts the reference's spellings: normal, joint, OEML, energyML, OE, energy, OECC.
Mode parse_mode(const std::string& name);
std::string mode_name(Mode mode);
std::vector<std::string> mode_names();
// Whether the mode trains on auxiliary outliers (all but `normal`).
bool uses_outliers(Mode mode);

// The defaults here are the project's: TrainConfig's flags take theirs from this struct.
struct ObjectiveParams {
  EdgeLossParams edge;      // joint
  double m_in = -25.0;      // energy / energyML: ID energy margin
  double m_out = -7.0;      // energy / energyML: OE energy margin
  double lambda_1 = 0.07;   // OECC: ID confidence term
  double lambda_2 = 0.05;   // OECC: OE uniformity term
  double a_tr = 0.7573;     // OECC: baseline accuracy (mAP) to push max-softmax towards
};

// The loss of `mode` for one [ID ; OE] forward pass. `logits_oe` may be empty for Normal.
// The defaults, for TrainConfig's members.
inline const ObjectiveParams kObjectiveDefaults{};

LossTerms compute_objective(Mode mode, const torch::Tensor& logits_in, const torch::Tensor& targets,
                            const torch::Tensor& logits_oe, const ObjectiveParams& params);

}  // namespace edge::train
