#include "edge/model/model_config.h"

#include <nlohmann/json.hpp>

#include "edge/common/json_fields.h"

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
  read_json_field(j, "arch", c.arch);
  read_json_field(j, "in_channels", c.in_channels);
  read_json_field(j, "width", c.width);
  read_json_field(j, "blocks_per_stage", c.blocks_per_stage);
  read_json_field(j, "stem_stride", c.stem_stride);
  read_json_field(j, "hidden", c.hidden);
  read_json_field(j, "num_classes", c.num_classes);
  c.pretrained = read_json_field_or(j, "pretrained", std::string());  // added after the first release
}

}  // namespace edge::model
