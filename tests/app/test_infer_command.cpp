// `edge infer`: a tensor from Python's torch.save in, the result for Python's torch.load out.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/model/checkpoint.h"
#include "edge/model/torch_file.h"
#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;
using namespace edge;

struct Cli {
  int code;
  std::string out, err;
};

Cli cli(std::vector<std::string> args) {
  args.insert(args.begin(), "edge");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  const int code = app::cli_main(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

// Every computation compared here runs the same kernels on the same batch shapes ([2] then
// [1], one thread): oneDNN picks its kernels by shape and CPU, and two batch shapes may round
// differently (they did on an AVX2 EPYC beyond 1e-5), so only equal work is compared exactly.
TEST(Infer, PretrainedPooledAndMapFromTheCli) {
  test::TempDir dir;
  const fs::path w = test::write_resnet18_weights(dir.path());
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({3, 1, 64, 64});  // gray: repeated to RGB
  model::save_torch_file(x, dir.path() / "x.pt");
  const std::string y = (dir.path() / "y.pt").string();
  Cli r = cli({"infer", "--arch", "resnet18", "--pretrained", w.string(), "--input", (dir.path() / "x.pt").string(),
               "--output", y, "--batch_size", "2", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("pooled [3, 512]"), std::string::npos) << r.out;
  const torch::Tensor pooled = model::load_torch_file(y).toTensor();
  r = cli({"infer", "--arch", "resnet18", "--pretrained", w.string(), "--input", (dir.path() / "x.pt").string(),
           "--output", y, "--features", "map", "--batch_size", "2", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const torch::Tensor map = model::load_torch_file(y).toTensor();
  ASSERT_EQ(map.sizes(), (std::vector<int64_t>{3, 512, 2, 2}));
  // The pooled feature is the mean of the ReLU'd (non-negative) map over its 4 positions: two
  // float sums of 4 non-negative terms in any order and a division differ by at most
  // 2 * (3 + 1) u = 8 * 2^-24 < 1e-6 relative (Higham 3.1), whatever the kernels.
  EXPECT_TRUE(torch::allclose(pooled, map.mean({2, 3}), 1e-6, 0.0));
  // The same as running the model in-process, eval mode, in the CLI's batches and threads.
  model::ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  c.pretrained = w.string();
  auto net = model::build_model(c);
  net->eval();
  torch::NoGradGuard no_grad;
  torch::set_num_threads(1);
  const torch::Tensor rgb = x.repeat({1, 3, 1, 1});
  const torch::Tensor in_process =
      torch::cat({net->forward_all(rgb.slice(0, 0, 2)).pooled, net->forward_all(rgb.slice(0, 2, 3)).pooled});
  EXPECT_TRUE(torch::equal(pooled, in_process));
}

TEST(Infer, UsageAndDataErrorsAreOneLine) {
  test::TempDir dir;
  const fs::path w = test::write_resnet18_weights(dir.path());
  model::save_torch_file(torch::randn({2, 3, 32, 32}), dir.path() / "x.pt");
  model::save_torch_file(torch::randn({2, 32, 32}), dir.path() / "x3d.pt");
  const std::string x = (dir.path() / "x.pt").string(), y = (dir.path() / "y.pt").string();
  auto expect_error = [&](const std::vector<std::string>& args, int code, const std::string& needle) {
    const Cli r = cli(args);
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  expect_error({"infer", "--input", x, "--output", y}, 2, "exactly one of --pretrained");
  expect_error({"infer", "--pretrained", w.string(), "--input", x, "--output", y}, 2, "--arch is required");
  expect_error({"infer", "--arch", "resnet18", "--pretrained", w.string(), "--input", x, "--output", y, "--features",
                "penultimate"},
               2, "--features");
  expect_error({"infer", "--arch", "vgg16", "--pretrained", w.string(), "--input", x, "--output", y}, 2, "vgg16");
  expect_error({"infer", "--arch", "resnet34", "--pretrained", w.string(), "--input", x, "--output", y}, 1,
               "missing key layer1.2.bn1.bias");
  expect_error({"infer", "--arch", "resnet18", "--pretrained", w.string(), "--input",
                (dir.path() / "x3d.pt").string(), "--output", y},
               1, "[2, 32, 32]");
  expect_error({"infer", "--arch", "resnet18", "--pretrained", w.string(), "--input", x, "--output", y, "--checkpoint",
                dir.path().string()},
               2, "exactly one");
  EXPECT_FALSE(fs::exists(y));
}

TEST(Infer, RunDirectoryCheckpointGivesLogits) {
  test::TempDir dir;
  const fs::path run = dir.path() / "run";
  fs::create_directories(run);
  train::TrainConfig cfg;
  cfg.precision = "fp32";  // as `edge train` stores it (resolved), and the fp32 forward below expects
  cfg.channels_last = "false";
  cfg.model.width = 8;
  cfg.model.hidden = 16;
  std::ofstream(run / "config.json") << nlohmann::json(cfg).dump(2);
  torch::manual_seed(4);
  model::MultiLabelNet net(cfg.model);
  model::save_weights(net, run / "model.pt");
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({5, 1, 56, 56});
  model::save_torch_file(x, dir.path() / "x.pt");
  app::InferParams p;
  p.checkpoint = run;
  p.input = dir.path() / "x.pt";
  p.output = dir.path() / "logits.pt";
  p.threads = 1;
  p.batch_size = 2;
  std::ostringstream log;
  const torch::Tensor logits = app::run_infer(p, log);
  EXPECT_NE(log.str().find("logits [5, 8]"), std::string::npos) << log.str();
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(logits, net->forward(x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(model::load_torch_file(p.output).toTensor(), logits));
  p.features = "hidden";
  EXPECT_EQ(app::run_infer(p, log).sizes(), (std::vector<int64_t>{5, 16}));
  p.arch = "resnet50";
  EXPECT_THROW(app::run_infer(p, log), UsageError);
}

TEST(Infer, HandWrittenAutoModesAreResolvedForTheCpu) {
  // `edge train` stores resolved modes; a config.json written by hand may say auto.
  test::TempDir dir;
  const fs::path run = dir.path() / "run";
  fs::create_directories(run);
  train::TrainConfig cfg;
  cfg.precision = "auto";
  cfg.channels_last = "auto";
  cfg.model.width = 8;
  cfg.model.hidden = 16;
  std::ofstream(run / "config.json") << nlohmann::json(cfg).dump(2);
  model::MultiLabelNet net(cfg.model);
  model::save_weights(net, run / "model.pt");
  model::save_torch_file(torch::randn({3, 1, 56, 56}), dir.path() / "x.pt");
  app::InferParams p;
  p.checkpoint = run;
  p.input = dir.path() / "x.pt";
  p.output = dir.path() / "logits.pt";
  p.threads = 1;
  std::ostringstream log;
  const torch::Tensor logits = app::run_infer(p, log);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  cfg.resolve_compute_mode(torch::Device(torch::kCPU));
  EXPECT_EQ(cfg.precision, model::resolve_precision("auto", torch::Device(torch::kCPU)));
  EXPECT_EQ(cfg.channels_last, "true") << "auto: channels-last on a CPU in either precision";
  cfg.channels_last = "sideways";
  EXPECT_THROW(cfg.resolve_compute_mode(torch::Device(torch::kCPU)), UsageError);
}

TEST(Infer, PythonTorchLoadReadsTheOutputAndAgreesWithTorchvision) {
  if (!test::python_has_modules("torch,torchvision")) GTEST_SKIP() << "Debian python3-torchvision not installed";
  test::TempDir dir;
  const std::string d = dir.path().string();
  test::run_python("import sys, torch\nsys.path.insert(0, '" + std::string(EDGE_SOURCE_DIR) +
                   "/scripts')\nimport make_backbone_goldens as ref\ntorch.set_num_threads(1)\nd = '" + d + R"('
m = ref.fill_weights(ref.build('mobilenet_v2'), 'mobilenet_v2').eval()
torch.save(m.state_dict(), d + '/w.pth')
torch.save(ref.make_input('mobilenet_v2', 96), d + '/x.pt')
)");
  const Cli r = cli({"infer", "--arch", "mobilenet_v2", "--pretrained", d + "/w.pth", "--input", d + "/x.pt",
                     "--output", d + "/y.pt", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string out = test::run_python("import sys, torch\nsys.path.insert(0, '" + std::string(EDGE_SOURCE_DIR) +
                                           "/scripts')\nimport make_backbone_goldens as ref\ntorch.set_num_threads(1)\nd = '" + d + R"('
m = ref.build('mobilenet_v2'); m.load_state_dict(torch.load(d + '/w.pth')); m.eval()
y = torch.load(d + '/y.pt')
with torch.no_grad():
    f = ref.pooled(ref.feature_map(m, 'mobilenet_v2', torch.load(d + '/x.pt')))
print('RESULT', type(y).__name__, list(y.shape), float((y - f).abs().max() / f.abs().max()))
)");
  const auto pos = out.find("RESULT ");
  ASSERT_NE(pos, std::string::npos) << out;
  std::istringstream in(out.substr(pos + 7));
  std::string type, shape0, shape1;
  double rel = 1.0;
  in >> type >> shape0 >> shape1 >> rel;
  EXPECT_EQ(type, "Tensor");
  EXPECT_EQ(shape0 + shape1, "[2,1280]");
  EXPECT_LE(rel, 1e-4) << out;
}

}  // namespace
