// libFuzzer targets for the parsers the project owns or wraps. A target feeds raw bytes to one
// parser; the parser's clean errors (any std::exception: the one-line messages the commands
// print) are the expected answer to bad bytes, and anything else — a crash, a sanitizer
// report, an abort, a hang — is a finding. The same targets replay their committed corpora
// in the normal test suite (replay_main.cpp) and run under libFuzzer with EDGE_FUZZ=ON
// (libfuzzer_main.cpp; scripts/fuzz.sh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace edge::fuzz {

using Target = std::function<void(const uint8_t* data, size_t size)>;

// Every target linked in, by name.
std::map<std::string, Target>& targets();

struct Registration {
  Registration(const std::string& name, Target t) { targets().emplace(name, std::move(t)); }
};

// This process's scratch folder (made once, removed at exit).
const std::filesystem::path& scratch_dir();

// `size` bytes written to `relative` under scratch_dir() (folders made); its path.
std::filesystem::path scratch_file(const std::string& relative, const uint8_t* data, size_t size);
std::filesystem::path scratch_file(const std::string& relative, const std::string& text);

// Whether refusals are printed (EDGE_FUZZ_VERBOSE set): to see that a target's seeds reach
// the parser rather than stop at a wrong file name.
bool verbose();

// Runs `f`; a std::exception is a clean refusal, anything else propagates.
template <class F>
void clean_errors_only(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    if (verbose()) std::fprintf(stderr, "refused: %s\n", e.what());
  }
}

}  // namespace edge::fuzz

#define EDGE_FUZZ_CONCAT_(a, b) a##b
#define EDGE_FUZZ_CONCAT(a, b) EDGE_FUZZ_CONCAT_(a, b)
// EDGE_FUZZ_TARGET(name) { ... data, size ... } defines and registers target `name`.
#define EDGE_FUZZ_TARGET(name)                                                                     \
  static void EDGE_FUZZ_CONCAT(fuzz_, name)(const uint8_t* data, size_t size);                     \
  static const ::edge::fuzz::Registration EDGE_FUZZ_CONCAT(registration_, name)(#name,              \
                                                                               EDGE_FUZZ_CONCAT(fuzz_, name)); \
  static void EDGE_FUZZ_CONCAT(fuzz_, name)(const uint8_t* data, size_t size)
