#include "edge/model/model_config.h"

#include <nlohmann/json.hpp>

namespace edge::model {

void to_json(nlohmann::json& j, const ModelConfig& c) {
  j = {{"arch", c.arch},
       {"in_channels", c.in_channels},
       {"width", c.width},
       {"blocks_per_stage", c.blocks_per_stage},
       {"stem_stride", c.stem_stride},
       {"hidden", c.hidden},
       {"num_classes", c.num_classes},
       {"pretrained", c.pretrained}};
}

void from_json(const nlohmann::json& j, ModelConfig& c) {
  j.at("arch").get_to(c.arch);
  j.at("in_channels").get_to(c.in_channels);
  j.at("width").get_to(c.width);
  j.at("blocks_per_stage").get_to(c.blocks_per_stage);
  j.at("stem_stride").get_to(c.stem_stride);
  j.at("hidden").get_to(c.hidden);
  j.at("num_classes").get_to(c.num_classes);
  c.pretrained = j.value("pretrained", std::string());  // added after the first release
}

}  // namespace edge::model
