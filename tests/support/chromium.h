// Headless Chromium for the tests that render eval.html (implemented in test_support.cpp).
#pragma once

#include <filesystem>
#include <string>

namespace edge::test {

// Debian's chromium, or "" when it is not installed (the tests that need it skip).
std::string chromium_path();

// Runs headless Chromium with its own profile and `args`, bounded to 60 s; its exit status.
int run_chromium(const std::string& exe, const std::filesystem::path& profile, const std::string& args);

}  // namespace edge::test
