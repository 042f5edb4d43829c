// SIGTERM / SIGINT during `edge train` (the built binary): the step in progress is abandoned,
// the last checkpoint stays valid, one line is printed, the exit code is 128 + signal, and
// --resume finishes with the very weights of the uninterrupted run.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> run_args(const fs::path& out) {
  auto args = edge::test::tiny_train_args(out);
  const auto epochs = std::find(args.begin(), args.end(), "--n_epoch");
  *(epochs + 1) = "4";  // time for the signal to land mid-run
  args.insert(args.end(), {"--precision", "fp32", "--channels_last", "false", "--threads", "1"});
  return args;
}

void interrupt_then_resume(int signal, int expected_code) {
  edge::test::TempDir dir;
  const fs::path straight = dir.path() / "straight", cut = dir.path() / "cut";
  ASSERT_EQ(edge::test::run_cli(run_args(straight)).code, 0);

  edge::test::Proc p = edge::test::start_edge(run_args(cut), {}, dir.path() / "cut_log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!fs::exists(cut / "checkpoints" / "last.ckpt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(p.pid, signal);  // during epoch 2 of 4: the first checkpoint has just appeared
  const int code = edge::test::wait_for(p, std::chrono::seconds(300));
  const std::string err = edge::test::slurp(p.err);
  ASSERT_EQ(code, expected_code) << err;
  EXPECT_NE(err.find("interrupted by " + std::string(signal == SIGINT ? "SIGINT" : "SIGTERM")), std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(cut / "model.pt"));

  const auto resumed = edge::test::run_cli({"train", "--resume", cut.string()});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(edge::test::slurp(cut / "model.pt"), edge::test::slurp(straight / "model.pt"));
}

TEST(Interrupt, SigtermEndsTrainingAtAStepAndResumeGivesTheUninterruptedWeights) {
  interrupt_then_resume(SIGTERM, 143);
}

TEST(Interrupt, SigintEndsTrainingWithCode130) { interrupt_then_resume(SIGINT, 130); }

}  // namespace
