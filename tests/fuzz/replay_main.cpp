// Replays fuzz corpora through the targets without libFuzzer (any compiler), as a CTest test:
//   edge_fuzz_replay TARGET FILE_OR_DIR...   every file (folders: sorted, any depth)
//   edge_fuzz_replay --list                  the targets linked in
// Exit 0 when every input was answered (parsed or cleanly refused); a crash ends the process.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "fuzz/fuzz_target.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs(const std::vector<std::string>& args) {
  std::vector<fs::path> files;
  for (const auto& a : args) {
    if (fs::is_directory(a)) {
      for (const auto& e : fs::recursive_directory_iterator(a))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(a)) {
      files.emplace_back(a);
    } else {
      throw std::runtime_error(a + ": no such file or folder");
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  const auto& all = edge::fuzz::targets();
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, target] : all) std::cout << name << "\n";
    return 0;
  }
  if (argc < 3) {
    std::cerr << "usage: edge_fuzz_replay TARGET FILE_OR_DIR... | --list\n";
    return 2;
  }
  const auto it = all.find(argv[1]);
  if (it == all.end()) {
    std::cerr << "edge_fuzz_replay: unknown target '" << argv[1] << "' (--list shows them)\n";
    return 2;
  }
  try {
    const auto files = inputs(std::vector<std::string>(argv + 2, argv + argc));
    if (files.empty()) throw std::runtime_error("no corpus files");
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      it->second(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }
    std::cout << argv[1] << ": " << files.size() << " inputs replayed, none crashed\n";
  } catch (const std::exception& e) {
    std::cerr << "edge_fuzz_replay: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
