// SIGTERM / SIGINT during `edge train` (the built binary): the step in progress is abandoned,
// the last checkpoint stays valid, one line is printed, the exit code is 128 + signal, and
// --resume finishes with the very weights of the uninterrupted run.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
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

// Kills `p` with SIGKILL the instant a temporary file is created in RUN/checkpoints, that is
// while a checkpoint is being written (inotify, not polling: a sealed checkpoint is written
// with one write(2) and an fsync, a window that a poll loop mostly misses). Returns whether it
// did before `until`.
bool kill_during_a_checkpoint_write(const edge::test::Proc& p, const fs::path& run,
                                    std::chrono::steady_clock::time_point until) {
  const fs::path dir = run / "checkpoints";
  while (!fs::exists(dir) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, dir.c_str(), IN_CREATE) < 0) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  bool killed = holds_temp_file(dir) && ::kill(p.pid, SIGKILL) == 0;  // one created before the watch
  alignas(inotify_event) char buf[4096];
  while (!killed && std::chrono::steady_clock::now() < until) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 10) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    for (ssize_t at = 0; at < n && !killed;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      if (e->len > 0 && std::string(e->name).find(".tmp") != std::string::npos) killed = ::kill(p.pid, SIGKILL) == 0;
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  ::close(fd);
  return killed;
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
      caught_write = at_a_write && kill_during_a_checkpoint_write(
          p, cut, std::chrono::time_point_cast<std::chrono::steady_clock::duration>(until));
      while (!at_a_write && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
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

namespace {

// Writes zeros into `file` until the file system holding it is full.
void fill_the_disk(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << file;
  const std::vector<char> zeros(1 << 16, 0);
  for (size_t chunk : {zeros.size(), size_t{4096}, size_t{1}})
    while (::write(fd, zeros.data(), chunk) > 0) {
    }
  ::close(fd);
}

// A disk that fills up during training (a 64 MB tmpfs, filled the moment the first checkpoint
// has appeared): the next write fails with one line naming the file and the cause, nothing
// half-written is left, and once space is freed --resume finishes with the uninterrupted
// run's weights, so the previous checkpoint was intact. Needs the right to mount (root or
// CAP_SYS_ADMIN); skipped otherwise.
TEST(DiskFull, AWriteThatDoesNotFitIsOneLineAndThePreviousCheckpointResumes) {
  edge::test::TempDir dir;
  const fs::path disk = dir.path() / "disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << ")";
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{disk};

  const fs::path straight = dir.path() / "straight", run = disk / "run";
  ASSERT_EQ(edge::test::run_cli(run_args(straight)).code, 0);
  edge::test::Proc p = edge::test::start_edge(run_args(run), {}, dir.path() / "full_log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!fs::exists(run / "checkpoints" / "last.ckpt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  fill_the_disk(disk / "filler");
  const int code = edge::test::wait_for(p, std::chrono::seconds(300));
  const std::string err = edge::test::slurp(p.err);
  EXPECT_NE(code, 0) << "training went on with a full disk";
  EXPECT_GT(code, 0) << "a signal (an abort?) ended it: " << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_NE(err.find(run.string()), std::string::npos) << "the message names no file of the run: " << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(holds_temp_file(run)) << "a half-written temporary file was left";
  EXPECT_FALSE(fs::exists(run / "model.pt"));

  fs::remove(disk / "filler");
  const auto resumed = edge::test::run_cli({"train", "--resume", run.string()});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(edge::test::slurp(run / "model.pt"), edge::test::slurp(straight / "model.pt"));
}

}  // namespace
