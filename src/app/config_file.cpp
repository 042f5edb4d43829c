#include "app/config_file.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"

namespace edge::app {

namespace {

std::string scalar_text(const nlohmann::json& v, const std::filesystem::path& file, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  throw UsageError(fmt::format("--config {}: value of '{}' must be a string, number or boolean, got {}",
                               file.string(), key, v.dump()));
}

std::vector<CLI::ConfigItem> json_items(const std::filesystem::path& file) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_text_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("--config {}: not valid JSON ({})", file.string(), e.what()));
  }
  if (!doc.is_object())
    throw UsageError(fmt::format("--config {}: expected a JSON object of flag names to values", file.string()));
  std::vector<CLI::ConfigItem> items;
  for (const auto& [key, value] : doc.items()) {
    CLI::ConfigItem item;
    item.name = key;
    if (value.is_array()) {
      for (const auto& v : value) item.inputs.push_back(scalar_text(v, file, key));
    } else {
      item.inputs.push_back(scalar_text(value, file, key));
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

std::vector<std::string> config_file_args(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file))
    throw UsageError(fmt::format("--config: {} not found", file.string()));
  std::vector<CLI::ConfigItem> items;
  if (file.extension() == ".json") {
    items = json_items(file);
  } else {
    try {
      items = CLI::ConfigTOML().from_file(file.string());
    } catch (const CLI::Error& e) {
      throw UsageError(fmt::format("--config {}: not valid TOML ({})", file.string(), e.what()));
    }
  }
  std::vector<std::string> args;
  for (const auto& item : items) {
    if (!item.parents.empty())
      throw UsageError(fmt::format("--config {}: sections are not supported (got [{}])", file.string(),
                                   fmt::join(item.parents, ".")));
    // An empty list would leave the flag without a value, and it would take the next
    // command-line token as one (a run into a folder named --print_config).
    if (item.inputs.empty())
      throw UsageError(fmt::format("--config {}: '{}' is an empty list (expected a value, or leave the key out)",
                                   file.string(), item.name));
    if (item.inputs.size() == 1) {
      args.push_back("--" + item.name + "=" + item.inputs.front());
    } else {
      args.push_back("--" + item.name);
      args.insert(args.end(), item.inputs.begin(), item.inputs.end());
    }
  }
  return args;
}

std::vector<std::string> expand_config_files(const std::vector<std::string>& args) {
  std::vector<std::string> file_args, rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw UsageError("--config: expected a file name");
      const auto more = config_file_args(args[++i]);
      file_args.insert(file_args.end(), more.begin(), more.end());
    } else if (args[i].rfind("--config=", 0) == 0) {
      const auto more = config_file_args(args[i].substr(9));
      file_args.insert(file_args.end(), more.begin(), more.end());
    } else {
      rest.push_back(args[i]);
    }
  }
  if (file_args.empty() || rest.empty()) return rest.empty() ? args : rest;
  std::vector<std::string> out = {rest.front()};
  out.insert(out.end(), file_args.begin(), file_args.end());
  out.insert(out.end(), rest.begin() + 1, rest.end());
  return out;
}

}  // namespace edge::app
