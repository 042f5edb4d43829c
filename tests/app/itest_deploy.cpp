// Deployment: `edge calibrate` then `edge predict` on image files, checked against
// `edge eval --save_scores` (same preprocessing -> the same scores), the model's own
// sigmoid outputs, numpy's quantile, and every error path.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "edge/common/atomic_file.h"
#include "edge/data/fashion_lt.h"
#include "edge/eval/calibration.h"
#include "edge/eval/score_files.h"
#include "edge/model/checkpoint.h"
#include "edge/train/train_config.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write_gray_png(const fs::path& file, const torch::Tensor& img) {  // uint8 [1, H, W]
  const torch::Tensor c = img.contiguous();
  ASSERT_TRUE(stbi_write_png(file.c_str(), int(c.size(2)), int(c.size(1)), 1, c.data_ptr<uint8_t>(), int(c.size(2))));
}

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

bool one_line(const std::string& err) { return !err.empty() && err.find('\n') == err.size() - 1; }

TEST(Deploy, CalibrateThenPredictAgreesWithEvalScoresAndModelOutputs) {
  edge::test::TempDir dir;
  const fs::path run = dir.path() / "run";
  // fp32, not the `auto` default: the probabilities are checked against an fp32 forward below.
  auto r = edge::test::run_cli({"train", "--score", "joint", "--n_epoch", "2", "--start_epoch", "1", "--id_train", "256",
                                "--id_val", "100", "--id_test", "64", "--oe_train", "256", "--ood_test", "32",
                                "--batch_size", "64", "--oe_batch_size", "64", "--k", "16", "--hidden", "64", "--width",
                                "8", "--precision", "fp32", "--channels_last", "false", "--out", run.string()});
  ASSERT_EQ(r.code, 0) << r.err;

  // Calibration on the 100 validation images: k = ceil(0.95 * 100) = 95.
  const fs::path val_scores = dir.path() / "val_scores.txt";
  r = edge::test::run_cli({"calibrate", "--checkpoint", run.string(), "--tpr", "0.95", "--save_scores",
                           val_scores.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const json cal = json::parse(edge::read_text_file(run / "calibration.json"));
  EXPECT_EQ(cal["score"], "energy_sum");
  EXPECT_EQ(cal["n"], 100);
  EXPECT_EQ(cal["split"], "val");
  EXPECT_EQ(cal["dataset"], "fashion-lt");
  EXPECT_EQ(cal["class_names"].size(), 8u);
  std::vector<double> s = edge::eval::read_score_file(val_scores);
  ASSERT_EQ(s.size(), 100u);
  const double threshold = cal["threshold"];
  const double kept = double(std::count_if(s.begin(), s.end(), [&](double v) { return v >= threshold; })) / 100.0;
  EXPECT_EQ(cal["achieved_tpr"].get<double>(), kept);
  EXPECT_GE(kept, 0.95);
  EXPECT_LT(kept, 0.95 + 1.0 / 100);
  std::sort(s.begin(), s.end(), std::greater<double>());
  EXPECT_EQ(threshold, s[94]);  // the 95th largest

  // The same images through `edge eval`, and as PNG files through `edge predict`.
  const fs::path scores = dir.path() / "scores";
  r = edge::test::run_cli({"eval", "--checkpoint", run.string(), "--ood_data", "noise,textures", "--save_scores",
                           scores.string(), "--out", (dir.path() / "eval").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const edge::train::TrainConfig config = edge::train::load_run_config(run);
  edge::data::FashionLtParts parts;
  parts.id_train = parts.id_val = parts.oe_train = false;
  parts.ood = {"noise", "textures"};
  const edge::data::Benchmark bench = edge::data::build_fashion_lt(config.data, parts);
  const fs::path images = dir.path() / "images";
  fs::create_directories(images);
  std::map<std::string, double> eval_score;
  std::vector<torch::Tensor> written;  // in the folder's sorted order
  for (const auto& [set, file, n] : {std::tuple{&bench.id_test, "id_test", 12}, {&bench.ood_tests[0], "noise", 6},
                                     {&bench.ood_tests[1], "textures", 6}}) {
    const auto sc = edge::eval::read_score_file(scores / "energy_sum" / (std::string(file) + ".txt"));
    for (int i = 0; i < n; ++i) {
      const std::string name = fmt::format("{}_{:02}.png", file, i);
      write_gray_png(images / name, set->images->load(i));
      eval_score[(images / name).string()] = sc[size_t(i)];
      written.push_back(set->images->load(i));
    }
  }
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), "--format", "jsonl", "--label_threshold", "0.3",
                           images.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = jsonl(r.out);
  ASSERT_EQ(rows.size(), 24u) << r.out;

  // The model's own probabilities for those images (fashion-lt preprocessing: (x/255 - .5)/.5).
  auto net = edge::model::load_weights(config.model, run / "model.pt");
  net->eval();
  torch::Tensor probs;
  {
    torch::NoGradGuard g;
    probs = torch::sigmoid(net->forward(edge::data::fashion_lt_transform().normalize(torch::stack(written)))).to(torch::kFloat64);
  }
  // Sorted folder order: id_test_*, noise_*, textures_* (as written).
  int decided = 0, ood = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    const std::string path = row["path"];
    ASSERT_TRUE(eval_score.count(path)) << path;
    const double score = row["score"], expected = eval_score[path];
    EXPECT_NEAR(score, expected, 1e-5 * std::max(1.0, std::abs(expected))) << path;
    EXPECT_EQ(row["threshold"].get<double>(), threshold);
    if (std::abs(expected - threshold) > 1e-4) {
      EXPECT_EQ(row["decision"], expected >= threshold ? "ID" : "OOD") << path << " " << expected;
      ++decided;
      ood += expected < threshold;
    }
    ASSERT_EQ(row["probabilities"].size(), 8u);
    std::vector<std::pair<double, int64_t>> want;
    for (int64_t c = 0; c < 8; ++c) {
      const double p = probs[int64_t(i)][c].item<double>();
      EXPECT_NEAR(row["probabilities"][size_t(c)].get<double>(), p, 1e-5) << path;
      if (p >= 0.3 + 1e-5) want.emplace_back(p, c);
    }
    std::sort(want.begin(), want.end(), std::greater<>());
    ASSERT_GE(row["labels"].size(), want.size()) << path;
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(row["labels"][k]["index"], want[k].second) << path;
      EXPECT_EQ(row["labels"][k]["class"], cal["class_names"][size_t(want[k].second)]) << path;
    }
  }
  EXPECT_GE(decided, 20);
  std::cout << "[ deploy ] " << ood << " of " << decided << " decided images OOD (12 ID test, 12 noise/textures)\n";

  // --top 1 and the table.
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), "--format", "jsonl", "--top", "1",
                           "--label_threshold", "0", images.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& row : jsonl(r.out)) EXPECT_EQ(row["labels"].size(), 1u);
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), (images / "noise_00.png").string(),
                           (images / "id_test_00.png").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("noise_00.png"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("noise_00.png"), r.out.find("id_test_00.png")) << "files keep the given order";
  EXPECT_NE(r.out.find("calibrated at TPR 0.95"), std::string::npos) << r.out;

  // A larger RGB image is converted to gray and resized to 56x56.
  std::vector<uint8_t> rgb(90 * 70 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t((i * 37) % 251);
  ASSERT_TRUE(stbi_write_png((dir.path() / "big.png").c_str(), 90, 70, 3, rgb.data(), 90 * 3));
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), "--format", "jsonl", (dir.path() / "big.png").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::isfinite(jsonl(r.out).at(0)["score"].get<double>()));

  // Error paths: one line each, nothing printed on stdout.
  const std::string good = (images / "id_test_00.png").string();
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), good, (images / "nope.png").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err) && r.err.find("nope.png") != std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const fs::path bad = dir.path() / "bad.png";
  std::ofstream(bad, std::ios::binary) << "\x89PNG\r\n truncated";
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), good, bad.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err) && r.err.find("bad.png") != std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), "--skip_unreadable", "--format", "jsonl", good,
                           bad.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.png"), std::string::npos) << r.err;
  EXPECT_EQ(jsonl(r.out).size(), 1u) << r.out;
  r = edge::test::run_cli({"predict", "--checkpoint", (dir.path() / "no_run").string(), good});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err) && r.err.find("--checkpoint") != std::string::npos) << r.err;
  r = edge::test::run_cli({"predict", "--checkpoint", run.string(), "--format", "xml", good});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err) && r.err.find("--format") != std::string::npos) << r.err;
  r = edge::test::run_cli({"calibrate", "--checkpoint", run.string(), "--score_fn", "mahalanobis_max"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err) && r.err.find("mahalanobis_max") != std::string::npos &&
              r.err.find("energy_sum") != std::string::npos) << r.err;
  r = edge::test::run_cli({"calibrate", "--checkpoint", run.string(), "--dataset", "textures"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err) && r.err.find("--dataset") != std::string::npos) << r.err;
  // Any ID set may calibrate a run through the run's own transform; COCO is not here (and
  // would have 80 classes, not 8): a one-line data error naming the flag.
  r = edge::test::run_cli({"calibrate", "--checkpoint", run.string(), "--dataset", "coco", "--data_root",
                           (dir.path() / "nothing").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err) && r.err.find("--dataset") != std::string::npos) << r.err;

  // Other weights under the same calibration: mismatched checkpoint. Recalibrating fixes it.
  const fs::path run2 = dir.path() / "run2";
  fs::create_directories(run2);
  for (const char* f : {"config.json", "model.pt", "calibration.json"}) fs::copy_file(run / f, run2 / f);
  {
    auto other = edge::model::load_weights(config.model, run2 / "model.pt");
    torch::NoGradGuard g;
    other->named_parameters()["clsfier.cls.bias"].add_(0.5);
    edge::model::save_weights(other, run2 / "model.pt");
  }
  r = edge::test::run_cli({"predict", "--checkpoint", run2.string(), good});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err) && r.err.find("mismatched") != std::string::npos) << r.err;
  fs::remove(run2 / "calibration.json");
  r = edge::test::run_cli({"predict", "--checkpoint", run2.string(), "--format", "jsonl", good});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(jsonl(r.out).at(0)["decision"], "uncalibrated");
  EXPECT_TRUE(jsonl(r.out).at(0)["threshold"].is_null());
  r = edge::test::run_cli({"predict", "--checkpoint", run2.string(), "--require_calibration", good});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err) && r.err.find("calibrat") != std::string::npos) << r.err;
  r = edge::test::run_cli({"calibrate", "--checkpoint", run2.string(), "--score_fn", "max_logit", "--tpr", "0.9"});
  ASSERT_EQ(r.code, 0) << r.err;
  {  // A calibration.json whose class list does not fit the model: an error naming that file.
    json bad = json::parse(edge::read_text_file(run2 / "calibration.json"));
    const std::string kept = bad.dump();
    bad["class_names"].erase(bad["class_names"].begin());
    edge::write_text_atomically(run2 / "calibration.json", bad.dump());
    r = edge::test::run_cli({"predict", "--checkpoint", run2.string(), good});
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(one_line(r.err) && r.err.find((run2 / "calibration.json").string() + ": 7 class names for a model "
                                                "with 8 classes") != std::string::npos)
        << r.err;
    edge::write_text_atomically(run2 / "calibration.json", kept);
  }
  const json cal2 = json::parse(edge::read_text_file(run2 / "calibration.json"));
  EXPECT_NE(cal2["weights_hash"], cal["weights_hash"]);
  r = edge::test::run_cli({"predict", "--checkpoint", run2.string(), "--format", "jsonl", good});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(jsonl(r.out).at(0)["score_fn"], "max_logit");
  r = edge::test::run_cli({"predict", "--checkpoint", run2.string(), "--score_fn", "energy_sum", good});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err) && r.err.find("max_logit") != std::string::npos) << r.err;

  if (!edge::test::python_has_modules("numpy")) GTEST_SKIP() << "Debian python3 with numpy not available";
  const std::string np = edge::test::run_python(fmt::format(
      "import numpy as np\ns = np.loadtxt('{}')\nprint(repr(float(-np.quantile(-s, 0.95, method='inverted_cdf'))))\n",
      val_scores.string()));
  EXPECT_EQ(std::stod(np), threshold) << np;
}

TEST(Deploy, RegistryRunOnCocoFixture) {
  const fs::path datasets = edge::test::fixtures_dir() / "datasets";
  ASSERT_TRUE(fs::exists(datasets / "coco")) << "dataset fixtures missing";
  edge::test::TempDir tmp;
  const fs::path oe = tmp.path() / "oe";
  fs::create_directories(oe);
  fs::copy_file(datasets / "folder" / "a.png", oe / "a.png");
  fs::copy_file(datasets / "folder" / "sub" / "b.JPG", oe / "b.jpg");
  const fs::path run = tmp.path() / "run";
  auto r = edge::test::run_cli(
      {"train", "--dataset", "coco2014", "--data_root", datasets.string(), "--oe_data", "folder:" + oe.string(),
       "--score", "joint", "--n_epoch", "1", "--start_epoch", "1", "--batch_size", "2", "--oe_batch_size", "2",
       "--k", "1", "--image_size", "32", "--workers", "1", "--width", "4", "--hidden", "8", "--threads", "1",
       "--out", run.string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const fs::path val_scores = tmp.path() / "val.txt";
  r = edge::test::run_cli({"calibrate", "--checkpoint", run.string(), "--save_scores", val_scores.string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const json cal = json::parse(edge::read_text_file(run / "calibration.json"));
  const auto s = edge::eval::read_score_file(val_scores);
  ASSERT_EQ(cal["n"].get<size_t>(), s.size());
  EXPECT_EQ(cal["class_names"].size(), 3u);

  // The validation images as files: predict's decoding and transform reproduce the pipeline's scores.
  std::vector<std::string> args = {"predict", "--checkpoint", run.string(), "--format", "jsonl",
                                   (datasets / "coco" / "val2014").string(), (datasets / "folder" / "a.png").string()};
  r = edge::test::run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = jsonl(r.out);
  ASSERT_EQ(rows.size(), s.size() + 1);
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_NEAR(rows[i]["score"].get<double>(), s[i], 1e-5 * std::max(1.0, std::abs(s[i])));
    if (std::abs(s[i] - cal["threshold"].get<double>()) > 1e-4)
      EXPECT_EQ(rows[i]["decision"], s[i] >= cal["threshold"].get<double>() ? "ID" : "OOD");
  }
  EXPECT_EQ(rows.back()["probabilities"].size(), 3u);

  // Calibrating on a set with another number of classes is refused.
  r = edge::test::run_cli({"calibrate", "--checkpoint", run.string(), "--dataset", "fashion-lt"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("classes"), std::string::npos) << r.err;
}

}  // namespace
