#include "data/listed_path.h"

#include <algorithm>

#include <fmt/format.h>

namespace edge::data::detail {

namespace fs = std::filesystem;

fs::path listed_path(const fs::path& base, const std::string& listed) { return (base / listed).lexically_normal(); }

bool lies_inside(const fs::path& file, const fs::path& root) {
  const fs::path f = fs::absolute(file).lexically_normal();
  fs::path r = fs::absolute(root).lexically_normal();
  if (!r.has_filename()) r = r.parent_path();  // "dir/" -> "dir", so that its components compare
  auto fi = f.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri, ++fi)
    if (fi == f.end() || *fi != *ri) return false;
  return fi != f.end();  // the root itself is no file inside it
}

std::string outside_path_message(const std::string& listed, const fs::path& root) {
  return fmt::format("image path '{}' leaves {} (a list may name files outside its folder only with "
                     "--allow_outside_paths)",
                     listed, root.string());
}

}  // namespace edge::data::detail
