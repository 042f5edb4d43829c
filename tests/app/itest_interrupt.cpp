// SIGTERM / SIGINT during `edge train` (the built binary): the step in progress is abandoned,
// the last checkpoint stays valid, one line is printed, the exit code is 128 + signal, and
// --resume finishes with the very weights of the uninterrupted run.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
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

namespace {

bool holds_temp_file(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.path().filename().string().find(".tmp") != std::string::npos) return true;
  return false;
}

// `kill -9` at 10 seeded moments of a tiny run: half spread over the whole run, half the
// instant a checkpoint's temporary file appears (a write in progress). Whatever the moment,
// finishing the run (--resume, or the same command again when not even config.json was
// written) gives the uninterrupted run's model.pt byte for byte and leaves no temporary file.
TEST(Interrupt, KillNineAtTenMomentsThenResumeGivesTheUninterruptedWeights) {
  edge::test::TempDir dir;
  const fs::path straight = dir.path() / "straight";
  const auto t0 = std::chrono::steady_clock::now();
  edge::test::Proc whole = edge::test::start_edge(run_args(straight), {}, dir.path() / "straight_log");
  ASSERT_EQ(edge::test::wait_for(whole, std::chrono::seconds(300)), 0) << edge::test::slurp(whole.err);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string want = edge::test::slurp(straight / "model.pt");
  ASSERT_FALSE(want.empty());

  std::mt19937 rng(21);
  std::uniform_real_distribution<double> when(0.05, 0.95);
  int exact = 0, during_writes = 0;
  for (int trial = 0; trial < 10; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const fs::path cut = dir.path() / ("cut" + std::to_string(trial));
    const bool at_a_write = trial % 2 == 1;
    double fraction = when(rng);
    bool caught_write = false;
    int code = 0;
    // A run can finish before its moment when the machine is less loaded than during the
    // straight run: then the trial is made again, earlier.
    for (int attempt = 0; attempt < 4 && code == 0; ++attempt, fraction /= 2) {
      fs::remove_all(cut);
      edge::test::Proc p = edge::test::start_edge(run_args(cut), {}, dir.path() / ("cut_log" + std::to_string(trial)));
      const auto start = std::chrono::steady_clock::now();
      const auto until = start + std::chrono::duration<double>((at_a_write ? 1.0 : fraction) * seconds);
      caught_write = false;
      while (std::chrono::steady_clock::now() < until) {
        if (at_a_write && fs::exists(cut / "checkpoints") && holds_temp_file(cut / "checkpoints")) {
          caught_write = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(at_a_write ? 200 : 5000));
      }
      ::kill(p.pid, SIGKILL);
      code = edge::test::wait_for(p, std::chrono::seconds(300));
    }
    ASSERT_EQ(code, 128 + SIGKILL) << "the run always finished before its kill";
    during_writes += caught_write;
    const auto finish = fs::exists(cut / "config.json") ? std::vector<std::string>{"train", "--resume", cut.string()}
                                                         : run_args(cut);
    const auto r = edge::test::run_cli(finish);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(holds_temp_file(cut)) << "a temporary file outlived the resume";
    const bool same = edge::test::slurp(cut / "model.pt") == want;
    EXPECT_TRUE(same) << "killed " << (caught_write ? "during a checkpoint write" : "between writes")
                      << "; resumed with: " << r.out;
    exact += same;
  }
  std::cout << "kill -9 trials: " << exact << "/10 resumed to the uninterrupted weights, " << during_writes
            << " killed during a checkpoint write\n";
  EXPECT_EQ(exact, 10);
  EXPECT_GE(during_writes, 1);
}

}  // namespace
