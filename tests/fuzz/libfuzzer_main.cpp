// libFuzzer entry points: the target named by EDGE_FUZZ_TARGET (scripts/fuzz.sh sets it).
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_target.h"

namespace {
const edge::fuzz::Target* chosen = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* name = std::getenv("EDGE_FUZZ_TARGET");
  const auto& all = edge::fuzz::targets();
  const auto it = name ? all.find(name) : all.end();
  if (it == all.end()) {
    std::fprintf(stderr, "EDGE_FUZZ_TARGET: expected one of");
    for (const auto& [n, t] : all) std::fprintf(stderr, " %s", n.c_str());
    std::fprintf(stderr, ", got '%s'\n", name ? name : "");
    std::exit(2);
  }
  chosen = &it->second;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (*chosen)(data, size);
  return 0;
}
