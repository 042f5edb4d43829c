#include "data/text_util.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge::data::detail {

std::string trim(const std::string& s) {
  const auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  auto b = std::find_if_not(s.begin(), s.end(), blank);
  auto e = std::find_if_not(s.rbegin(), s.rend(), blank).base();
  return b < e ? std::string(b, e) : std::string();
}

std::vector<std::string> split_on(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> split_blanks(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::vector<std::string> read_lines(const std::filesystem::path& path, const std::string& what) {
  if (!std::filesystem::is_regular_file(path))
    throw DataError(fmt::format("{} not found (expected {})", path.string(), what));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("cannot read {} ({})", path.string(), what));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw DataError(fmt::format("error reading {} ({})", path.string(), what));
  return lines;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace edge::data::detail
