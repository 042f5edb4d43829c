#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/data/fashion_lt.h"
#include "edge/model/checkpoint.h"

namespace edge::app {

namespace {

nlohmann::json epoch_json(const train::EpochStats& s) {
  return {{"epoch", s.epoch + 1}, {"loss", s.loss}, {"bce", s.bce}, {"conf", s.conf}, {"gap", s.gap},
          {"beta", s.beta}, {"lr", s.lr}, {"val_map", s.val_map}, {"images_per_s", s.images_per_s},
          {"seconds", s.seconds}};
}

}  // namespace

std::vector<train::EpochStats> run_train(const train::TrainConfig& given, const std::filesystem::path& run_dir,
                                         std::ostream& log) {
  train::TrainConfig config = given;
  config.data.resolve_default_paths();
  config.validate();
  data::FashionLtParts parts;
  parts.id_test = false;
  parts.oe_train = config.score != "normal";
  parts.ood.clear();
  log << fmt::format("building {} (id_train {}, id_val {}{}) ...", config.dataset, config.data.id_train,
                     config.data.id_val, parts.oe_train ? fmt::format(", oe_train {}", config.data.oe_train) : "")
      << std::endl;
  const data::Benchmark bench = data::build_fashion_lt(config.data, parts);

  nlohmann::json cfg = config;
  cfg["edge_version"] = EDGE_VERSION;
  cfg["torch_version"] = TORCH_VERSION;
  write_text_atomically(run_dir / "config.json", cfg.dump(2) + "\n");

  train::Trainer trainer(config, bench, log);
  std::string jsonl;
  auto history = trainer.fit([&](const train::EpochStats& s) {
    jsonl += epoch_json(s).dump() + "\n";
    write_text_atomically(run_dir / "train_log.jsonl", jsonl);
  });
  auto model = trainer.model();
  model::save_weights(model, run_dir / "model.pt");
  log << fmt::format("saved {} (final val mAP {:.2f})", (run_dir / "model.pt").string(),
                     100.0 * history.back().val_map)
      << std::endl;
  return history;
}

}  // namespace edge::app
