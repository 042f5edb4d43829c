// Comma-separated flag values (--ood_data a,b  --score_fn x,y  --tail_j 0,1,2).
#pragma once

#include <string>
#include <vector>

namespace edge {

// The non-empty items of `s`, each without leading/trailing blanks (inner blanks are kept:
// NAME:PATH items may hold paths with spaces).
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= s.size()) {
    size_t end = s.find(',', begin);
    if (end == std::string::npos) end = s.size();
    const size_t first = s.find_first_not_of(" \t", begin);
    if (first != std::string::npos && first < end) {
      const size_t last = s.find_last_not_of(" \t", end - 1);
      out.push_back(s.substr(first, last - first + 1));
    }
    begin = end + 1;
  }
  return out;
}

}  // namespace edge
