// Training end to end on small fashion-lt: every mode learns, resume is bit-identical,
// non-finite losses stop (or are skipped), config files work.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/data/fashion_lt.h"
#include "edge/train/trainer.h"
#include "edge/train/training_data.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using edge::train::TrainConfig;

TrainConfig small_config(const std::string& score) {
  TrainConfig c;
  c.objective = score;
  c.data.id_train = 512;
  c.data.id_val = 128;
  c.data.oe_train = 384;
  c.data.resolve_default_paths();
  c.batch_size = 64;
  c.oe_batch_size = 64;
  c.k = 16;
  c.n_epoch = 3;
  c.start_epoch = 1;
  c.model.width = 8;
  c.model.hidden = 64;
  c.threads = 2;
  // The reference mode, not the `auto` default: the learning thresholds below were measured
  // in fp32, and resume must reproduce the fp32 reference bit for bit.
  c.precision = "fp32";
  c.channels_last = "false";
  return c;
}

edge::train::PipelineData small_data() {
  static const edge::data::Benchmark b = [] {
    edge::data::FashionLtParts parts;
    parts.id_test = false;
    parts.ood.clear();
    return edge::data::build_fashion_lt(small_config("joint").data, parts);
  }();
  return edge::train::pipeline_data(b, edge::data::run_recipe(small_config("joint").dataset, 0, true), 2);
}

class EveryMode : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryMode, LossFallsAndStaysFinite) {
  std::ostringstream log;
  TrainConfig c = small_config(GetParam());
  c.l_rate = 0.05;
  edge::train::Trainer trainer(c, small_data(), log);
  const auto h = trainer.fit();
  ASSERT_EQ(h.size(), 3u);
  for (const auto& e : h) {
    EXPECT_TRUE(std::isfinite(e.loss)) << log.str();
    EXPECT_EQ(e.skipped_steps, 0);
  }
  EXPECT_LT(h.back().loss, h.front().loss) << log.str();
  EXPECT_GT(h.back().val_map, 0.2) << log.str();
}

INSTANTIATE_TEST_SUITE_P(Modes, EveryMode,
                         ::testing::Values("normal", "joint", "OEML", "energyML", "OE", "energy", "OECC"));

void expect_same_weights(edge::model::MultiLabelNet a, edge::model::MultiLabelNet b) {
  const auto pa = a->named_parameters(true), pb = b->named_parameters(true);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
  const auto ba = a->named_buffers(true), bb = b->named_buffers(true);
  for (size_t i = 0; i < ba.size(); ++i) EXPECT_TRUE(torch::equal(ba[i].value(), bb[i].value())) << ba[i].key();
}

TEST(Resume, OneEpochPlusResumeEqualsTwoStraightBitForBit) {
  edge::test::TempDir dir;
  for (const std::string opt : {"sgd", "adam"}) {
    SCOPED_TRACE(opt);
    TrainConfig c = small_config("joint");
    c.n_epoch = 2;
    c.opt = opt;
    std::ostringstream log;
    edge::train::Trainer straight(c, small_data(), log);
    straight.fit();

    struct Interrupt {};
    const auto ckpt = dir.path() / (opt + "-last.ckpt");
    edge::train::Trainer first(c, small_data(), log);
    try {
      first.fit([&](const edge::train::EpochStats&) {
        first.save_checkpoint(ckpt);
        throw Interrupt{};  // the process "dies" after epoch 1
      });
    } catch (const Interrupt&) {
    }
    edge::train::Trainer resumed(c, small_data(), log);
    resumed.restore_checkpoint(ckpt);
    EXPECT_EQ(resumed.epochs_done(), 1);
    EXPECT_EQ(resumed.history().size(), 1u);
    resumed.fit();
    EXPECT_EQ(resumed.global_step(), straight.global_step());
    expect_same_weights(straight.model(), resumed.model());
    EXPECT_EQ(resumed.history().back().loss, straight.history().back().loss);

    // And the same seed and config reproduce the same weights from scratch.
    edge::train::Trainer again(c, small_data(), log);
    again.fit();
    expect_same_weights(straight.model(), again.model());
  }
}

TEST(TrainEpoch, EpochByEpochEqualsFitAndStopsAfterTheLast) {
  TrainConfig c = small_config("joint");
  c.n_epoch = 2;
  std::ostringstream log_fit, log_steps;
  edge::train::Trainer fitted(c, small_data(), log_fit);
  const auto fit_history = fitted.fit();
  edge::train::Trainer stepped(c, small_data(), log_steps);
  const auto first = stepped.train_epoch();
  EXPECT_EQ(first.epoch, 1);
  EXPECT_EQ(stepped.epochs_done(), 1);
  EXPECT_EQ(stepped.history().size(), 1u);
  const auto second = stepped.train_epoch();
  EXPECT_EQ(second.epoch, 2);
  EXPECT_EQ(second.loss, fit_history.back().loss);
  expect_same_weights(fitted.model(), stepped.model());
  // One log line per epoch, as fit() writes them.
  const std::string lines = log_steps.str();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2);
  EXPECT_THROW(stepped.train_epoch(), edge::UsageError);
  EXPECT_EQ(stepped.epochs_done(), 2);
}

TEST(Checkpoint, OneThatDoesNotFitOnTheDiskIsAnErrorAndLeavesNothing) {
  edge::test::TempDir dir;
  std::ostringstream log;
  edge::train::Trainer t(small_config("joint"), small_data(), log);
  std::string msg;
  {
    edge::test::FileSizeLimit limit(16 * 1024);
    try {
      t.save_checkpoint(dir.path() / "last.ckpt");
    } catch (const edge::DataError& e) {
      msg = e.what();
    }
  }
  EXPECT_NE(msg.find("last.ckpt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// One flipped byte inside a checkpoint's data (where LibTorch's own reader notices nothing)
// is caught by the checkpoint's seal: a one-line DataError naming the file, no resume.
TEST(Checkpoint, AFlippedByteIsCaughtByItsChecksum) {
  edge::test::TempDir dir;
  std::ostringstream log;
  edge::train::Trainer t(small_config("joint"), small_data(), log);
  const auto file = dir.path() / "last.ckpt";
  t.save_checkpoint(file);
  t.restore_checkpoint(file);  // sealed and intact: loads
  std::string bytes = edge::test::slurp(file);
  bytes[bytes.size() / 2] ^= 0x10;  // the middle of the file: the sealed payload's data
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  try {
    t.restore_checkpoint(file);
    FAIL() << "a corrupt checkpoint was resumed from";
  } catch (const edge::DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Resume, RejectsAnotherConfigurationAndCorruptFiles) {
  edge::test::TempDir dir;
  std::ostringstream log;
  TrainConfig c = small_config("normal");
  c.n_epoch = 1;
  edge::train::Trainer t(c, small_data(), log);
  t.fit();
  t.save_checkpoint(dir.path() / "a.ckpt");
  TrainConfig other = c;
  other.l_rate = 0.5;
  edge::train::Trainer u(other, small_data(), log);
  EXPECT_THROW(u.restore_checkpoint(dir.path() / "a.ckpt"), edge::DataError);
  std::ofstream(dir.path() / "bad.ckpt") << "not a checkpoint";
  try {
    t.restore_checkpoint(dir.path() / "bad.ckpt");
    FAIL();
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.ckpt"), std::string::npos);
  }
}

TEST(NonFinite, StopsNamingStepAndTermsOrSkipsWhenAsked) {
  std::ostringstream log;
  TrainConfig c = small_config("joint");
  c.n_epoch = 1;
  // A NaN weight makes every loss non-finite (a NaN --alpha is refused up front now).
  const auto poison = [](edge::train::Trainer& trainer) {
    torch::NoGradGuard no_grad;
    trainer.model()->head()->classifier()->bias.fill_(std::nan(""));
  };
  edge::train::Trainer t(c, small_data(), log);
  poison(t);
  try {
    t.fit();
    FAIL() << "expected NumericError";
  } catch (const edge::NumericError& e) {
    const std::string m = e.what();
    for (const char* needle : {"epoch 1", "step 1", "bce", "conf", "gap"}) EXPECT_NE(m.find(needle), std::string::npos) << m;
  }
  c.skip_nonfinite = true;
  edge::train::PipelineData no_val = small_data();
  no_val.id_val = {};  // the poisoned model's validation logits would be NaN too
  edge::train::Trainer s(c, no_val, log);
  poison(s);
  const auto h = s.fit();
  EXPECT_EQ(h.back().skipped_steps, 512 / 64);
  EXPECT_NE(log.str().find("skipped"), std::string::npos);
}

using edge::test::run_cli;

TEST(TrainCli, ConfigFilesWithCommandLineOverrideAndResume) {
  edge::test::TempDir dir;
  std::ofstream(dir.path() / "cfg.json") << R"({"score": "OEML", "n_epoch": 5, "id_train": 256, "id_val": 64,
    "oe_train": 128, "batch_size": 64, "oe_batch_size": 32, "width": 8, "hidden": 32, "l_rate": 0.05})";
  const auto run = dir.path() / "run";
  auto r = run_cli({"train", "--config", (dir.path() / "cfg.json").string(), "--n_epoch", "2", "--out", run.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto cfg = nlohmann::json::parse(edge::read_text_file(run / "config.json"));
  EXPECT_EQ(cfg["score"], "OEML");
  EXPECT_EQ(cfg["n_epoch"], 2);  // the command line wins
  EXPECT_EQ(cfg["oe_batch_size"], 32);
  for (const char* key : {"git_commit", "torch_version", "seed", "edge_version"})
    EXPECT_TRUE(cfg["provenance"].contains(key)) << key;
  for (const char* f : {"model.pt", "model_best.pt", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                        "summary.json", "train_log.jsonl"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  const std::string log = edge::read_text_file(run / "train_log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2);
  EXPECT_NE(log.find("\"oe\""), std::string::npos) << log;

  // The same directory again is refused; resuming a finished run does nothing; extra flags are refused.
  r = run_cli({"train", "--config", (dir.path() / "cfg.json").string(), "--out", run.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  r = run_cli({"train", "--resume", run.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to do"), std::string::npos) << r.out;
  r = run_cli({"train", "--resume", run.string(), "--n_epoch", "9"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--n_epoch"), std::string::npos) << r.err;

  // TOML works too; an unknown key is an error naming it.
  std::ofstream(dir.path() / "cfg.toml") << "score = \"normal\"\nn_epoch = 1\nid_train = 128\nid_val = 32\n"
                                            "batch_size = 64\nwidth = 8\nhidden = 32\n";
  r = run_cli({"train", "--config", (dir.path() / "cfg.toml").string(), "--out", (dir.path() / "t").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  std::ofstream(dir.path() / "bad.json") << R"({"n_epochs": 3})";
  r = run_cli({"train", "--config", (dir.path() / "bad.json").string(), "--out", (dir.path() / "b").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("n_epochs"), std::string::npos) << r.err;
  // An empty list is no value: refused, not filled with the next command-line token.
  std::ofstream(dir.path() / "empty.json") << R"({"out": []})";
  r = run_cli({"train", "--config", (dir.path() / "empty.json").string(), "--print_config"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'out' is an empty list"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists("--print_config"));
}

}  // namespace
