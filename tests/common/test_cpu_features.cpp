// The library's CPU detection: the hardware as /proc/cpuinfo lists it, capped by oneDNN's and
// ATen's environment variables the way oneDNN and ATen cap their own kernels.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "edge/common/cpu_features.h"
#include "edge/model/compute_mode.h"

namespace {

using edge::cap_cpu_features;
using edge::CpuFeatures;
using edge::CpuHardware;
using edge::onednn_isa_rank;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The kernel lists a CPU feature in /proc/cpuinfo only when it also enables the register
// state it needs, which is what the detection checks through CPUID and XGETBV.
TEST(CpuHardware, AgreesWithProcCpuinfo) {
  std::ifstream in("/proc/cpuinfo");
  if (!in) GTEST_SKIP() << "/proc/cpuinfo not readable";
  std::set<std::string> flags;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;  // the first processor's flags; every core of a machine lists the same features
  }
  if (flags.empty()) GTEST_SKIP() << "/proc/cpuinfo has no x86 flags line";
  const auto has = [&](const char* f) { return flags.count(f) > 0; };
  const CpuHardware& hw = edge::cpu_hardware();
  EXPECT_EQ(hw.avx512, has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq"));
  EXPECT_EQ(hw.native_bf16, (hw.avx512 && has("avx512_bf16")) || has("amx_bf16"));
}

TEST(CpuFeatures, ThisProcessIsTheHardwareCappedByItsEnvironment) {
  const std::string onednn = env("ONEDNN_MAX_CPU_ISA");
  const CpuFeatures want = cap_cpu_features(edge::cpu_hardware(), onednn.empty() ? env("DNNL_MAX_CPU_ISA") : onednn,
                                            env("ATEN_CPU_CAPABILITY"));
  EXPECT_EQ(edge::cpu_features().avx512, want.avx512);
  EXPECT_EQ(edge::cpu_features().native_bf16, want.native_bf16);
  EXPECT_EQ(edge::model::cpu_has_native_bf16(), want.native_bf16);
  // Run as an AVX2 CPU (.ci/run's second pass): nothing of AVX-512 is left.
  if (env("DNNL_MAX_CPU_ISA") == "AVX2" && onednn.empty()) {
    EXPECT_FALSE(edge::cpu_features().avx512);
    EXPECT_FALSE(edge::model::cpu_has_native_bf16());
  }
}

TEST(CpuFeatures, OneDnnIsaNamesAreRankedAsOneDnnOrdersThem) {
  EXPECT_LT(*onednn_isa_rank("SSE41"), *onednn_isa_rank("AVX2"));
  EXPECT_LT(*onednn_isa_rank("avx2"), *onednn_isa_rank("AVX512_CORE"));
  EXPECT_LT(*onednn_isa_rank("AVX512_CORE_VNNI"), *onednn_isa_rank("AVX512_CORE_BF16"));
  EXPECT_LT(*onednn_isa_rank("AVX512_CORE_BF16"), *onednn_isa_rank("AVX512_CORE_AMX"));
  EXPECT_EQ(*onednn_isa_rank("AVX512_CORE_FP16"), *onednn_isa_rank("AVX10_1_512"));
  EXPECT_LT(*onednn_isa_rank("AVX10_1_512_AMX_FP16"), *onednn_isa_rank("ALL"));
  EXPECT_FALSE(onednn_isa_rank("AVX3").has_value());
  EXPECT_FALSE(onednn_isa_rank("").has_value());
}

TEST(CpuFeatures, CapsOnlyRemoveWhatTheHardwareHas) {
  const CpuHardware full{true, true}, avx512_only{true, false}, avx2{false, false};
  const auto caps = [](const CpuHardware& hw, const char* isa, const char* aten) {
    const CpuFeatures f = cap_cpu_features(hw, isa, aten);
    return std::pair<bool, bool>{f.avx512, f.native_bf16};
  };
  using P = std::pair<bool, bool>;
  EXPECT_EQ(caps(full, "", ""), P(true, true));
  EXPECT_EQ(caps(full, "AVX2", ""), P(false, false));
  EXPECT_EQ(caps(full, "avx512_core", ""), P(true, false));
  EXPECT_EQ(caps(full, "AVX512_CORE_VNNI", ""), P(true, false));
  EXPECT_EQ(caps(full, "AVX512_CORE_BF16", ""), P(true, true));
  EXPECT_EQ(caps(full, "AVX512_CORE_AMX", ""), P(true, true));
  EXPECT_EQ(caps(full, "ALL", ""), P(true, true));
  EXPECT_EQ(caps(full, "NOT_AN_ISA", ""), P(true, true)) << "unknown names are ignored, as oneDNN ignores them";
  EXPECT_EQ(caps(full, "", "avx2"), P(false, false));
  EXPECT_EQ(caps(full, "", "default"), P(false, false));
  EXPECT_EQ(caps(full, "", "avx512"), P(true, true));
  EXPECT_EQ(caps(avx512_only, "ALL", "avx512"), P(true, false)) << "a cap never adds";
  EXPECT_EQ(caps(avx2, "AVX512_CORE_AMX", ""), P(false, false));
}

}  // namespace
