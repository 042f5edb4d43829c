#include "edge/common/cpu_features.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define EDGE_X86_CPUID 1
#endif

namespace edge {

namespace {

// The thresholds the library's kernels need, as oneDNN ranks (onednn_isa_rank).
constexpr int kRankAvx512Core = 6;
constexpr int kRankAvx512CoreBf16 = 8;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

#ifdef EDGE_X86_CPUID
// XCR0: the register states the OS saves on a context switch (XGETBV with ECX = 0). Inline
// assembly rather than _xgetbv, which needs the XSAVE target feature at compile time.
uint64_t xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

CpuHardware detect() {
  CpuHardware hw;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return hw;
  if (!(ecx & (1u << 27))) return hw;  // OSXSAVE: without it XGETBV faults and no AVX state is saved
  const uint64_t xcr = xcr0();
  // AVX-512 needs the SSE, AVX, opmask and both ZMM halves saved (XCR0 bits 1, 2, 5, 6, 7);
  // AMX needs TILECFG and TILEDATA (bits 17, 18).
  const bool os_avx512 = (xcr & 0xE6) == 0xE6;
  const bool os_amx = (xcr & (3ull << 17)) == (3ull << 17);
  if (__get_cpuid_max(0, nullptr) < 7) return hw;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool amx_bf16 = edx & (1u << 22);
  // EBX: AVX512F bit 16, DQ 17, BW 30, VL 31.
  const unsigned avx512_fdqbwvl = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
  hw.avx512 = os_avx512 && (ebx & avx512_fdqbwvl) == avx512_fdqbwvl;
  bool avx512_bf16 = false;
  if (eax >= 1) {  // the highest subleaf of leaf 7
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    avx512_bf16 = eax & (1u << 5);
  }
  hw.native_bf16 = (avx512_bf16 && hw.avx512) || (amx_bf16 && os_amx);
  return hw;
}
#else
CpuHardware detect() { return {}; }
#endif

}  // namespace

std::optional<int> onednn_isa_rank(const std::string& name) {
  // oneDNN's dnnl_cpu_isa_t names, lowest first; aliases share a rank. ALL = no cap.
  static const std::array<std::pair<const char*, int>, 19> ranks{{
      {"sse41", 0}, {"avx", 1}, {"avx2", 2}, {"avx2_vnni", 3}, {"avx2_vnni_2", 4},
      {"avx512_mic", 5}, {"avx512_mic_4ops", 5},
      {"avx512_core", kRankAvx512Core}, {"avx512_core_vnni", 7}, {"avx512_core_bf16", kRankAvx512CoreBf16},
      {"avx512_core_fp16", 9}, {"avx10_1_512", 9}, {"avx512_core_amx", 10}, {"avx10_1_512_amx", 10},
      {"avx512_core_amx_fp16", 11}, {"avx10_1_512_amx_fp16", 11}, {"avx10_2_512", 12}, {"avx10_2_512_amx_2", 13},
      {"all", 1000},
  }};
  const std::string n = lower(name);
  for (const auto& [isa, rank] : ranks)
    if (n == isa) return rank;
  return std::nullopt;
}

CpuFeatures cap_cpu_features(const CpuHardware& hw, const std::string& onednn_max_isa,
                             const std::string& aten_capability) {
  CpuFeatures f{hw.avx512, hw.native_bf16, false};
  if (const auto rank = onednn_isa_rank(onednn_max_isa)) {
    f.avx512 = f.avx512 && *rank >= kRankAvx512Core;
    f.native_bf16 = f.native_bf16 && *rank >= kRankAvx512CoreBf16;
    f.bf16_convolutions_unavailable = hw.avx512 && *rank < kRankAvx512Core;
  }
  const std::string aten = lower(aten_capability);
  if (aten == "default" || aten == "avx2") {  // ATen's names below AVX-512
    f.avx512 = false;
    f.native_bf16 = false;
  }
  return f;
}

const CpuHardware& cpu_hardware() {
  static const CpuHardware hw = detect();
  return hw;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = [] {
    const std::string onednn = env("ONEDNN_MAX_CPU_ISA");
    return cap_cpu_features(cpu_hardware(), onednn.empty() ? env("DNNL_MAX_CPU_ISA") : onednn,
                            env("ATEN_CPU_CAPABILITY"));
  }();
  return f;
}

}  // namespace edge
