// What this CPU offers the library's own kernel choices, capped the way oneDNN and ATen are.
//
// Why a cap: oneDNN's DNNL_MAX_CPU_ISA (or ONEDNN_MAX_CPU_ISA) makes an AVX-512 machine run
// oneDNN's AVX2 kernels, and ATen's ATEN_CPU_CAPABILITY=avx2 its AVX2 kernels. The library's
// own choices (native bf16 for --precision auto and the GEMM weight gradient, the AVX-512 copy
// of the fused BatchNorm kernels) follow the same variables, so one machine can run the whole
// program, and the test suite, as an AVX2 CPU would:
//   DNNL_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 build/edge ...
// A cap only removes what the hardware has; it never adds (and see
// CpuFeatures::bf16_convolutions_unavailable for what it cannot emulate). An unknown value is ignored, as
// oneDNN and ATen ignore it.
#pragma once

#include <optional>
#include <string>

namespace edge {

// What the hardware (and the OS's register saving) supports, from CPUID and XGETBV.
struct CpuHardware {
  bool avx512 = false;       // AVX-512 F, BW, VL and DQ, with the ZMM and opmask state saved
  bool native_bf16 = false;  // AVX512_BF16 or AMX-BF16, with their state saved
};

// The capped result that every kernel choice of the library reads.
struct CpuFeatures {
  bool avx512 = false;       // the library's AVX-512 kernels may run
  bool native_bf16 = false;  // bf16 dot products run natively (not emulated through fp32)
  // The one thing a cap cannot make faithful: on AVX-512 hardware LibTorch 1.13 sends bf16
  // convolutions to oneDNN (it asks the hardware, not the cap), and a oneDNN capped below
  // AVX512_CORE has no kernel for them ("could not create a primitive descriptor"), where a
  // real AVX2 CPU falls back to LibTorch's own kernels. True in exactly that situation.
  bool bf16_convolutions_unavailable = false;
};

// The rank of a oneDNN ISA name (case-insensitive: SSE41 < AVX < AVX2 < AVX2_VNNI < AVX2_VNNI_2
// < AVX512_CORE < AVX512_CORE_VNNI < AVX512_CORE_BF16 < AVX512_CORE_FP16 = AVX10_1_512 <
// AVX512_CORE_AMX < ... < ALL), or nullopt for a name oneDNN does not define.
std::optional<int> onednn_isa_rank(const std::string& name);

// `hw` capped by a oneDNN ISA name (empty: no cap) and an ATen capability ("default", "avx2",
// "avx512"; empty: no cap). Pure, for tests; cpu_features() calls it with the environment's.
CpuFeatures cap_cpu_features(const CpuHardware& hw, const std::string& onednn_max_isa,
                             const std::string& aten_capability);

// This process's CPU: detected and capped by ONEDNN_MAX_CPU_ISA (else DNNL_MAX_CPU_ISA) and
// ATEN_CPU_CAPABILITY once (CPUID traps to the hypervisor in a VM; kernels ask per call).
const CpuFeatures& cpu_features();

// The hardware alone (no cap), detected once. Always all false on non-x86 builds.
const CpuHardware& cpu_hardware();

}  // namespace edge
