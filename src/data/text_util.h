// Small text helpers shared by the list / manifest readers. Private to src/data.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace edge::data::detail {

std::string trim(const std::string& s);
// Splits on `sep` keeping empty fields.
std::vector<std::string> split_on(const std::string& s, char sep);
// Splits on runs of blanks (spaces, tabs), dropping empty fields.
std::vector<std::string> split_blanks(const std::string& s);
// Every line of a text file without its line ending ("\n" or "\r\n"). Throws DataError
// naming the file if it cannot be read; `what` says what the file should be.
std::vector<std::string> read_lines(const std::filesystem::path& path, const std::string& what);
std::string lower(std::string s);

}  // namespace edge::data::detail
