// The library's own kernels (fused BatchNorm+ReLU, im2col) must run on every intra-op thread:
// built without OpenMP, at::parallel_for runs them on one thread and nothing else fails.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "edge/common/parallel.h"

namespace {

TEST(Parallel, LibraryKernelsUseEveryIntraOpThread) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(edge::parallel_for_threads_used(), 2)
      << "at::parallel_for in libedge_core runs on one thread: the library was compiled without OpenMP "
         "(expected -fopenmp from CMake's find_package(OpenMP))";
  at::set_num_threads(1);
  EXPECT_EQ(edge::parallel_for_threads_used(), 1);
  at::set_num_threads(before);
}

}  // namespace
