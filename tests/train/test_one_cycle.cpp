// The one-cycle schedule against PyTorch's OneCycleLR (live, Debian python3-torch).
#include <gtest/gtest.h>

#include <sstream>

#include "edge/common/error.h"
#include "edge/train/one_cycle.h"
#include "support/test_support.h"

namespace {

using edge::train::OneCycleSchedule;

TEST(OneCycle, EndpointsAndPeak) {
  const OneCycleSchedule s({0.1, 100, 0.2});
  EXPECT_NEAR(s.lr(0), 0.1 / 25, 1e-15);
  EXPECT_NEAR(s.lr(19), 0.1, 1e-15);  // end of warm-up: pct_start * total - 1
  EXPECT_NEAR(s.lr(99), 0.1 / 25 / 1e4, 1e-15);
  EXPECT_NEAR(s.momentum(0), 0.95, 1e-15);
  EXPECT_NEAR(s.momentum(19), 0.85, 1e-15);
  EXPECT_NEAR(s.momentum(99), 0.95, 1e-15);
}

TEST(OneCycle, RejectsBadOptions) {
  EXPECT_THROW(OneCycleSchedule({0.1, 0, 0.2}), edge::UsageError);
  EXPECT_THROW(OneCycleSchedule({0.1, 10, 1.5}), edge::UsageError);
}

TEST(OneCycle, MatchesPyTorchOneCycleLR) {
  if (!edge::test::python_has_modules("torch")) GTEST_SKIP() << "Debian python3-torch not installed";
  const std::string out = edge::test::run_python(R"(
import torch
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.3, total_steps=57, pct_start=0.2)
for step in range(57):
    g = opt.param_groups[0]
    print(repr(g['lr']), repr(g['momentum']))
    opt.step(); sched.step()
)");
  const OneCycleSchedule s({0.3, 57, 0.2});
  std::istringstream in(out);
  for (int64_t step = 0; step < 57; ++step) {
    double lr = 0, mom = 0;
    ASSERT_TRUE(in >> lr >> mom) << "python output ended at step " << step << ":\n" << out;
    EXPECT_NEAR(s.lr(step), lr, 1e-12) << "step " << step;
    EXPECT_NEAR(s.momentum(step), mom, 1e-12) << "step " << step;
  }
}

}  // namespace
