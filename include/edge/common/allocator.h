// Keeps freed tensor memory in the process instead of returning it to the OS every step.
//
// LibTorch's CPU tensors come from malloc. glibc serves large blocks with mmap below a
// threshold it adapts at run time (up to 32 MiB) and trims the heap top once more than
// twice that is free, so the activation buffers of each training step or evaluation batch
// are mapped and page-faulted afresh (about 0.9 million page faults in bench_edge's
// bf16 channels-last run, 53 thousand with this setting; the kernel zero-fills every
// faulted page). Pinning the mmap threshold at 32 MiB and the trim threshold at 1 GiB lets
// the heap reuse them; peak memory stays the same (it is the largest step's working set).
// The same effect is available to any glibc program through GLIBC_TUNABLES. No-op where the
// C library is not glibc; process-wide, applied once.
#pragma once

namespace edge {

// The two settings, also given to bench_edge's Python peers as GLIBC_TUNABLES so that they run
// under the same allocator policy.
inline constexpr int kMmapThresholdBytes = 32 << 20;
inline constexpr int kTrimThresholdBytes = 1 << 30;

void keep_freed_memory();

}  // namespace edge
