// Paths named inside list files (manifests, COCO json, VOC lists, NUS-WIDE lists). Private to
// src/data.
#pragma once

#include <filesystem>
#include <string>

namespace edge::data::detail {

// `listed` (an entry of a list file, relative to `base` unless absolute), lexically normalised.
std::filesystem::path listed_path(const std::filesystem::path& base, const std::string& listed);

// Whether `file` (as listed_path gives it) lies inside `root`, judged lexically: an absolute
// entry elsewhere, or a "../" that climbs out of root, does not. Symbolic links are not
// followed, so a data folder may be a link farm.
bool lies_inside(const std::filesystem::path& file, const std::filesystem::path& root);

// The one-line complaint about such an entry: "image path 'P' leaves ROOT (...)", naming the
// flag that allows it.
std::string outside_path_message(const std::string& listed, const std::filesystem::path& root);

}  // namespace edge::data::detail
