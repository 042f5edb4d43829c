// Whether this library's own kernels run on several threads.
//
// at::parallel_for is a header template: it splits the loop over OpenMP threads only in a
// translation unit compiled with OpenMP (ATen/ParallelOpenMP.h keys on _OPENMP), which
// LibTorch's CMake package does not add. Built without it, the fused BatchNorm+ReLU and
// im2col kernels silently run on one thread while LibTorch's own kernels use all of them
// (it cost bench_edge's training step ~10 %). The build links OpenMP; this reports it.
#pragma once

namespace edge {

// Runs an at::parallel_for compiled like the library's kernels and returns how many distinct
// threads took part: at::get_num_threads() when intra-op parallelism works, 1 otherwise.
int parallel_for_threads_used();

}  // namespace edge
