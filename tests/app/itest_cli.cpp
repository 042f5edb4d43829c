// The CLI driven in-process (edge::app::cli_main), including its error paths.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/run_lock.h"
#include "edge/model/compute_mode.h"
#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;

edge::test::CliResult run(std::vector<std::string> args) { return edge::test::run_cli(std::move(args)); }

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A tiny fast configuration shared by the tests below.
TEST(Cli, UnknownFlagIsAOneLineUsageError) {
  const auto r = run({"train", "--no_such_flag", "3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--no_such_flag"), std::string::npos) << r.err;
}

TEST(Cli, BadValuesNameTheFlag) {
  auto r = run({"train", "--k", "100", "--batch_size", "64", "--out", "/nonexistent-never-written"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--k"), std::string::npos) << r.err;
  r = run({"train", "--score", "bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--score"), std::string::npos) << r.err;
  r = run({"train", "--n_epoch", "abc"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--n_epoch"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists("/nonexistent-never-written"));
  // Integers that CLI11 alone would saturate or read as octal.
  for (const char* bad : {"99999999999999999999", "010", "0x10"}) {
    r = run({"train", "--k", bad, "--out", "/nonexistent-never-written"});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("--k: '" + std::string(bad) + "' is not a decimal integer in range"), std::string::npos)
        << r.err;
  }
  // Two flags naming the score: refused, not one of them dropped.
  r = run({"eval", "--checkpoint", "/nonexistent-never-written", "--ood", "energy", "--score_fn", "msp"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ood and --score_fn"), std::string::npos) << r.err;
}

// Values that used to pass silently (issue 21): a negative seed wrapped to 2^64 - 1, negative
// loss weights trained. Each is one line naming the flag, exit 2, nothing written.
// (--nproc 0 trained one process before: 0 was read as "not given".)
TEST(Cli, NegativeSeedsAndLossWeightsAreRefused) {
  edge::test::TempDir dir;
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--seed", "-1"}, {"--data_seed", "-3"},
                                              {"--alpha", "-1"}, {"--energy_beta", "-0.5"}, {"--weight_decay", "-1"},
                                              {"--l_rate", "inf"}, {"--l_rate", "1e300"}, {"--rho", "-1"},
                                              {"--nproc", "0"}}) {
    auto args = std::vector<std::string>{"train", "--out", (dir.path() / "run").string()};
    args.insert(args.end(), bad.begin(), bad.end());
    const auto r = run(args);
    EXPECT_EQ(r.code, 2) << bad[0] << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(bad[0]), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "run")) << bad[0];
  }
}

// A manifest folder without the split's file names the folder and both names it looked for
// (the message was an fmt error before).
TEST(Cli, ManifestFolderWithoutTheSplitNamesWhatWasExpected) {
  edge::test::TempDir dir;
  std::ofstream(dir.path() / "val.csv") << "image,labels\n";
  const auto r = run({"data", "verify", "--dataset", "manifest:" + dir.path().string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("train.csv nor " + dir.path().string() + "/train.tsv"), std::string::npos) << r.err;
}

TEST(Cli, MissingCheckpointNamesThePath) {
  const auto r = run({"eval", "--checkpoint", "/nonexistent/run"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/run"), std::string::npos) << r.err;
}

TEST(Cli, SeedReadmeDashesAreAccepted) {
  // "–oe_batch_size" with an en dash, as in the seed README; with a bad value so it stops early.
  const auto r = run({"train", "\xE2\x80\x93oe_batch_size", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--oe_batch_size"), std::string::npos) << r.err;
}

TEST(Cli, TrainThenEvalWritesRunAndReports) {
  edge::test::TempDir dir;
  const auto run_dir = dir.path() / "run";
  auto r = run(edge::test::tiny_train_args(run_dir, "joint"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("epoch   2/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("img/s"), std::string::npos);
  EXPECT_NE(r.out.find("ETA"), std::string::npos);
  for (const char* f : {"config.json", "model.pt", "train_log.jsonl"}) EXPECT_TRUE(fs::exists(run_dir / f)) << f;
  const auto cfg = nlohmann::json::parse(edge::read_text_file(run_dir / "config.json"));
  EXPECT_EQ(cfg["k"], 16);
  EXPECT_EQ(cfg["score"], "joint");

  r = run({"eval", "--checkpoint", run_dir.string(), "--ood_data", "bag,noise", "--out", (dir.path() / "ev").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("bag"), std::string::npos);
  EXPECT_NE(r.out.find("mean"), std::string::npos);
  EXPECT_NE(r.out.find("ID mAP"), std::string::npos);
  const auto rep = nlohmann::json::parse(edge::read_text_file(dir.path() / "ev" / "eval.json"));
  ASSERT_EQ(rep["rows"].size(), 3u);
  EXPECT_EQ(rep["rows"][0]["ood_set"], "bag");
  EXPECT_EQ(rep["rows"][2]["ood_set"], "mean");
  EXPECT_TRUE(fs::exists(dir.path() / "ev" / "eval.csv"));

  // Unknown OOD set, a registry set whose files are absent, and mismatched checkpoint: clear
  // one-line errors, no output written.
  r = run({"eval", "--checkpoint", run_dir.string(), "--ood_data", "bag,no-such-set", "--out",
           (dir.path() / "ev2").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no-such-set"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "ev2" / "eval.json"));
  r = run({"eval", "--checkpoint", run_dir.string(), "--ood_data", "svhn", "--data_root",
           (dir.path() / "no-data").string(), "--out", (dir.path() / "ev2").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("svhn"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "ev2" / "eval.json"));
  auto bad = cfg;
  bad["model"]["width"] = 16;
  std::ofstream(run_dir / "config.json") << bad.dump();
  r = run({"eval", "--checkpoint", run_dir.string(), "--out", (dir.path() / "ev3").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("does not match"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "ev3"));
}

TEST(Cli, PrecisionAutoIsStoredResolved) {
  edge::test::TempDir dir;
  const std::string resolved = edge::model::resolve_precision("auto", torch::Device(torch::kCPU));
  const std::string line = "precision: " + resolved + " (auto: ";
  // Asked for explicitly, and as the default: config.json holds fp32 or bf16, never auto.
  for (const bool explicit_auto : {true, false}) {
    SCOPED_TRACE(explicit_auto ? "--precision auto" : "default");
    const auto run_dir = dir.path() / (explicit_auto ? "auto" : "default");
    auto args = edge::test::tiny_train_args(run_dir, "normal");
    if (explicit_auto) args.insert(args.end(), {"--precision", "auto"});
    const auto r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto cfg = nlohmann::json::parse(edge::read_text_file(run_dir / "config.json"));
    EXPECT_EQ(cfg["precision"], resolved);
    // --channels_last auto (the default): channels-last on the CPU in either precision, stored as a boolean.
    EXPECT_EQ(cfg["channels_last"], true);
    EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("layout: channels-last (auto"), std::string::npos)
        << r.out;
  }
  // --print_config shows the same resolution, and fp32 for GPUs (by their spelling: no GPU needed).
  auto pc = run({"train", "--print_config"});
  ASSERT_EQ(pc.code, 0) << pc.err;
  EXPECT_EQ(nlohmann::json::parse(pc.out)["precision"], resolved);
  EXPECT_EQ(nlohmann::json::parse(pc.out)["channels_last"], true);
  pc = run({"train", "--print_config", "--device-id", "0,1"});
  ASSERT_EQ(pc.code, 0) << pc.err;
  EXPECT_EQ(nlohmann::json::parse(pc.out)["precision"], "fp32");
  EXPECT_EQ(nlohmann::json::parse(pc.out)["channels_last"], false);
  const auto run_dir = dir.path() / "auto";
  // The checkpoint's configuration is the resolved one too, so resuming compares like with like.
  auto r = run({"train", "--resume", run_dir.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to do"), std::string::npos) << r.out;
  // An explicit precision is stored as given, without the auto line.
  auto fp32_args = edge::test::tiny_train_args(dir.path() / "fp32", "normal");
  fp32_args.insert(fp32_args.end(), {"--precision", "fp32"});
  r = run(fp32_args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto fp32_cfg = nlohmann::json::parse(edge::read_text_file(dir.path() / "fp32" / "config.json"));
  EXPECT_EQ(fp32_cfg["precision"], "fp32");
  EXPECT_EQ(fp32_cfg["channels_last"], true) << "--channels_last auto is channels-last on a CPU in fp32 too";
  EXPECT_EQ(r.out.find("precision: "), std::string::npos) << r.out;

  // edge eval takes auto as well; bad values name the flag in both commands.
  r = run({"eval", "--checkpoint", run_dir.string(), "--precision", "auto", "--ood_data", "noise", "--tail_j", "0",
           "--out", (dir.path() / "ev").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  r = run({"eval", "--checkpoint", run_dir.string(), "--precision", "fp16", "--out", (dir.path() / "ev2").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--precision"), std::string::npos) << r.err;
  r = run({"train", "--precision", "fp16", "--out", (dir.path() / "bad").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--precision"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "bad" / "config.json"));
  r = run({"train", "--channels_last", "yes", "--out", (dir.path() / "bad").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--channels_last"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "bad" / "config.json"));
  r = run({"eval", "--checkpoint", run_dir.string(), "--channels_last", "auto", "--ood_data", "noise", "--tail_j", "0",
           "--out", (dir.path() / "ev3").string()});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Cli, NormalModeTrainsWithoutOutliers) {
  edge::test::TempDir dir;
  const auto r = run(edge::test::tiny_train_args(dir.path() / "bce", "normal"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("oe_train"), std::string::npos) << "BCE must not build the OE set:\n" << r.out;
  EXPECT_EQ(r.out.find("gap"), std::string::npos);
}

}  // namespace

namespace {

// A run stopped right after its last epoch's checkpoint (before best.ckpt, model_best.pt,
// train_log.jsonl, model.pt and summary.json were written, as a kill there leaves it) is
// sealed by --resume with what the uninterrupted run wrote; a sealed run has nothing to do.
TEST(Cli, ResumeOfAFinishedButUnsealedRunWritesWhatTheEndOfTrainingWrites) {
  edge::test::TempDir dir;
  const fs::path run_dir = dir.path() / "run";
  auto args = edge::test::tiny_train_args(run_dir, "joint");
  args.insert(args.end(), {"--precision", "fp32", "--channels_last", "false"});
  ASSERT_EQ(run(args).code, 0);
  const std::string model = edge::read_text_file(run_dir / "model.pt");
  const std::string log = edge::read_text_file(run_dir / "train_log.jsonl");
  const auto last_best = nlohmann::json::parse(log.substr(log.rfind('\n', log.size() - 2) + 1)).at("best").get<bool>();
  const std::string model_best = last_best ? edge::read_text_file(run_dir / "model_best.pt") : "";
  for (const char* f : {"model.pt", "summary.json", "train_log.jsonl"}) fs::remove(run_dir / f);
  if (last_best) {
    fs::remove(run_dir / "model_best.pt");
    fs::remove(run_dir / "checkpoints" / "best.ckpt");
  }

  auto r = run({"train", "--resume", run_dir.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("writing it now"), std::string::npos) << r.out;
  EXPECT_EQ(edge::read_text_file(run_dir / "model.pt"), model) << "the final weights, bit for bit";
  EXPECT_EQ(edge::read_text_file(run_dir / "train_log.jsonl"), log);
  EXPECT_TRUE(fs::exists(run_dir / "summary.json"));
  if (last_best) {
    EXPECT_EQ(edge::read_text_file(run_dir / "model_best.pt"), model_best);
    EXPECT_TRUE(fs::exists(run_dir / "checkpoints" / "best.ckpt"));
  }
  r = run({"train", "--resume", run_dir.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to do"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// Any OOD set works with a fashion-lt run: its own (bag), a folder of RGB images of other
// sizes (PNG, JPEG, BMP) and generated noise, each made 56x56 gray by the run's transform.
TEST(Cli, FashionLtRunEvaluatesOnAnyRegistryOodSet) {
  edge::test::TempDir dir;
  const fs::path run_dir = dir.path() / "run";
  ASSERT_EQ(run(edge::test::tiny_train_args(run_dir, "joint")).code, 0);
  const fs::path photos = edge::test::fixtures_dir() / "datasets" / "folder";  // 4x3 png, 8x6 jpg, 2x2 bmp
  auto r = run({"eval", "--checkpoint", run_dir.string(), "--ood_data",
                "bag,folder:" + photos.string() + ",noise-blobs:20", "--tail_j", "0", "--no_cache", "--out",
                (dir.path() / "ev").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rep = nlohmann::json::parse(edge::read_text_file(dir.path() / "ev" / "eval.json"));
  ASSERT_EQ(rep["rows"].size(), 4u);
  EXPECT_EQ(rep["rows"][0]["ood_set"], "bag");
  EXPECT_EQ(rep["rows"][1]["ood_set"], "folder:" + photos.string());
  EXPECT_EQ(rep["rows"][1]["n_ood"], 3);
  EXPECT_EQ(rep["rows"][2]["ood_set"], "noise-blobs:20");
  EXPECT_EQ(rep["rows"][2]["n_ood"], 20);
  // An ID set is not an OOD set: one line naming the flag.
  r = run({"eval", "--checkpoint", run_dir.string(), "--ood_data", "coco2014", "--out", (dir.path() / "ev2").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--ood_data"), std::string::npos) << r.err;
}

}  // namespace

namespace {

// Two writers, one run: while one process holds the run directory, a second `edge train
// --out` of it is refused at once, naming the holder (--resume takes the same lock).
TEST(Cli, ASecondWriterOfOneRunIsRefused) {
  edge::test::TempDir dir;
  const fs::path run_dir = dir.path() / "run";
  edge::RunLock held(run_dir, "--out");
  const auto r = run(edge::test::tiny_train_args(run_dir));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("being written by another edge process (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_FALSE(fs::exists(run_dir / "config.json"));
}

// A run that fails before its first epoch ends leaves no directory behind (nothing to
// resume), and the lock of a failed run never blocks the next one.
TEST(Cli, ARunThatFailsBeforeItsFirstEpochLeavesNoDirectory) {
  edge::test::TempDir dir;
  const fs::path run_dir = dir.path() / "run";
  auto args = edge::test::tiny_train_args(run_dir);
  args.insert(args.end(), {"--oe_data", "folder:" + (dir.path() / "missing").string()});
  const auto r = run(args);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run_dir)) << "left behind: " << run_dir;
  edge::RunLock again(run_dir, "--out");  // free
}

// What a writer killed inside a checkpoint write leaves (a temporary sibling) is removed by
// the next writer of the run; other files stay.
TEST(Cli, TheNextWriterRemovesAKilledWritersTemporaries) {
  edge::test::TempDir dir;
  const fs::path run_dir = dir.path() / "run";
  fs::create_directories(run_dir / "checkpoints");
  for (const char* f : {"checkpoints/.last.ckpt.tmp123456", ".config.json.tmp42", "notes.tmp7", ".keep.tmpx"})
    std::ofstream(run_dir / f) << "x";
  { edge::RunLock lock(run_dir, "--resume"); }
  EXPECT_FALSE(fs::exists(run_dir / "checkpoints/.last.ckpt.tmp123456"));
  EXPECT_FALSE(fs::exists(run_dir / ".config.json.tmp42"));
  EXPECT_TRUE(fs::exists(run_dir / "notes.tmp7"));
  EXPECT_TRUE(fs::exists(run_dir / ".keep.tmpx"));
}

}  // namespace
