// NUS-WIDE from the reference's image list + label matrix text files.
#include <algorithm>
#include <functional>
#include <random>

#include <fmt/format.h>

#include "data/listed_path.h"
#include "data/text_util.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

const std::vector<std::string>& nus_wide_class_names() {
  static const std::vector<std::string> names = {
      "airport",  "animal",   "beach",     "bear",       "birds",    "boats",   "book",     "bridge",
      "buildings", "cars",    "castle",    "cat",        "cityscape", "clouds", "computer", "coral",
      "cow",      "dancing",  "dog",       "earthquake", "elk",      "fire",    "fish",     "flags",
      "flowers",  "food",     "fox",       "frost",      "garden",   "glacier", "grass",    "harbor",
      "horses",   "house",    "lake",      "leaf",       "map",      "military", "moon",    "mountain",
      "nighttime", "ocean",   "person",    "plane",      "plants",   "police",  "protest",  "railroad",
      "rainbow",  "reflection", "road",    "rocks",      "running",  "sand",    "sign",     "sky",
      "snow",     "soccer",   "sports",    "statue",     "street",   "sun",     "sunset",   "surf",
      "swimmers", "tattoo",   "temple",    "tiger",      "tower",    "town",    "toy",      "train",
      "tree",     "valley",   "vehicle",   "water",      "waterfall", "wedding", "whales",  "window",
      "zebra"};
  return names;
}

namespace {

// numpy's legacy RandomState.shuffle (Fisher-Yates from the back, bounded draws by
// masked rejection on 32-bit MT19937 outputs) as a permutation of 0..n-1.
std::vector<size_t> numpy_legacy_shuffle(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);  // numpy seeds an int with init_genrand, as std::mt19937 does
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = n; i-- > 1;) {
    uint64_t mask = i;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t j;
    do {
      j = static_cast<uint64_t>(gen()) & mask;
    } while (j > i);
    std::swap(order[i], order[j]);
  }
  return order;
}

// The class names: Concepts81.txt in `dir` where present, else the reference's list.
std::vector<std::string> read_class_names(const std::filesystem::path& dir) {
  const auto concepts = dir / "Concepts81.txt";
  if (!std::filesystem::is_regular_file(concepts)) return nus_wide_class_names();
  std::vector<std::string> names;
  for (const auto& line : detail::read_lines(concepts, "class names, one per line"))
    if (!detail::trim(line).empty()) names.push_back(detail::trim(line));
  return names;
}

// Trailing blank lines are not rows (np.loadtxt skips them).
size_t count_rows(const std::vector<std::string>& lines) {
  size_t n = lines.size();
  while (n > 0 && detail::trim(lines[n - 1]).empty()) --n;
  return n;
}

// The images with at least one concept and their 0/1 rows (flat, C per image), in list order.
struct LabelledPaths {
  std::vector<std::string> paths;
  std::vector<float> labels;
};

LabelledPaths read_rows(const std::filesystem::path& list_file, const std::filesystem::path& label_file, size_t C,
                        const std::function<void(const std::string&)>& report) {
  const auto list = detail::read_lines(list_file, "one image path per line");
  const auto label_lines = detail::read_lines(label_file, "rows of 0/1 labels, one per image");
  const size_t n_list = count_rows(list), n_labels = count_rows(label_lines);
  if (n_list != n_labels)
    report(fmt::format("{}: {} label rows for the {} images of {}", label_file.string(), n_labels, n_list,
                       list_file.string()));
  LabelledPaths out;
  for (size_t i = 0; i < std::min(n_list, n_labels); ++i) {
    const auto tokens = detail::split_blanks(list[i]);
    const auto values = detail::split_blanks(label_lines[i]);
    if (tokens.empty()) {
      report(fmt::format("{}:{}: empty image path", list_file.string(), i + 1));
      continue;
    }
    if (values.size() != C) {
      report(fmt::format("{}:{}: {} labels, expected {}", label_file.string(), i + 1, values.size(), C));
      continue;
    }
    if (std::any_of(values.begin(), values.end(), [](const std::string& v) { return v != "0" && v != "1"; })) {
      report(fmt::format("{}:{}: labels must be 0 or 1", label_file.string(), i + 1));
      continue;
    }
    if (std::none_of(values.begin(), values.end(), [](const std::string& v) { return v == "1"; }))
      continue;  // no concept: dropped, as the reference does
    out.paths.push_back(tokens[0]);
    for (const auto& v : values) out.labels.push_back(v == "1" ? 1.0f : 0.0f);
  }
  return out;
}

}  // namespace

Dataset read_nus_wide(const std::filesystem::path& dir, const std::string& split, Problems* problems,
                      bool allow_outside_paths) {
  if (split != "train" && split != "val" && split != "test")
    throw UsageError(fmt::format("nus-wide: unknown split '{}' (expected train, val or test)", split));
  const std::string part = split == "train" ? "train" : "test";
  std::vector<std::string> class_names = read_class_names(dir);
  const size_t C = class_names.size();
  auto report = [&](const std::string& message) {
    if (!problems) throw DataError(message);
    problems->push_back(message);
  };
  const LabelledPaths rows = read_rows(dir / fmt::format("nus_wide_{}_imglist.txt", part),
                                       dir / fmt::format("nus_wide_{}_label.txt", part), C, report);
  // val and test: the two halves of the test list under the reference's fixed shuffle.
  std::vector<size_t> keep(rows.paths.size());
  for (size_t i = 0; i < keep.size(); ++i) keep[i] = i;
  if (split != "train") {
    const auto order = numpy_legacy_shuffle(rows.paths.size(), 999);
    const auto half = order.begin() + static_cast<std::ptrdiff_t>(rows.paths.size() / 2);
    keep.assign(split == "val" ? order.begin() : half, split == "val" ? half : order.end());
  }
  std::vector<std::filesystem::path> files;
  std::vector<float> kept_labels;
  for (size_t i : keep) {
    // Windows-style separators occur in some NUS-WIDE lists.
    std::string p = rows.paths[i];
    for (char& ch : p)
      if (ch == '\\') ch = '/';
    const auto file = detail::listed_path(dir, p);
    if (!allow_outside_paths && !detail::lies_inside(file, dir)) {
      report(fmt::format("{}: {}", (dir / fmt::format("nus_wide_{}_imglist.txt", part)).string(),
                         detail::outside_path_message(p, dir)));
      continue;
    }
    files.push_back(file);
    kept_labels.insert(kept_labels.end(), rows.labels.begin() + static_cast<std::ptrdiff_t>(i * C),
                       rows.labels.begin() + static_cast<std::ptrdiff_t>((i + 1) * C));
  }
  Dataset out;
  out.name = fmt::format("nus-wide/{}", split);
  out.class_names = std::move(class_names);
  const int64_t n = static_cast<int64_t>(files.size());
  out.images = file_source(std::move(files));
  out.labels = label_matrix(kept_labels, n, static_cast<int64_t>(C));
  return out;
}

}  // namespace edge::data
