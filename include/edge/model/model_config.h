// The model's configuration: which backbone, how the clssimp head is sized, and where
// pretrained backbone weights come from. Stored as "model" in a run's config.json.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace edge::model {

struct ModelConfig {
  // small_resnet | resnet18 | resnet34 | resnet50 | resnet101 | densenet121 | mobilenet_v2
  std::string arch = "small_resnet";
  // Channels of the images fed to the model (1 gray, 3 RGB). small_resnet's stem takes
  // exactly this many. The torchvision backbones always take 3 (RGB, so that ImageNet
  // weights load); 1-channel input is repeated to 3 channels (see backbone.h).
  int64_t in_channels = 1;
  int64_t width = 16;             // small_resnet stem width
  int64_t blocks_per_stage = 1;   // small_resnet depth
  int64_t stem_stride = 2;        // small_resnet stem stride
  int64_t hidden = 1000;          // clssimp hidden size
  int64_t num_classes = 8;
  // torchvision state_dict (.pth) loaded into the backbone by build_model(); "" = none.
  // Its classifier (fc.* / classifier.*) is ignored. Absent in older configs (= "").
  std::string pretrained;
};

// JSON keys are the field names. from_json accepts configs written before `pretrained`
// existed (it defaults to "").
void to_json(nlohmann::json& j, const ModelConfig& c);
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace edge::model
