#include "edge/eval/eval_set.h"

#include <numeric>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/common/content_hash.h"
#include "edge/common/error.h"
#include "edge/data/loader.h"
#include "edge/train/predict.h"
#include "eval/tensor_hash.h"

namespace edge::eval {

namespace {

// The batches of one plan, read by a loader that follows the consumer: asking for batch i
// right after batch i - 1 takes the loader's next (prefetched) batch; any other i restarts
// the plan there.
struct PlannedReader {
  PlannedReader(const data::Dataset& set, const data::Transform& t, int64_t workers, std::ostream* warnings,
                std::vector<std::vector<int64_t>> plan)
      : loader(set, t, options(workers), warnings), plan(std::move(plan)) {}
  static data::LoaderOptions options(int64_t workers) {
    data::LoaderOptions o;
    o.workers = workers;
    o.on_corrupt = data::CorruptPolicy::Drop;
    return o;
  }
  torch::Tensor batch(int64_t i) {
    TORCH_CHECK(i >= 0 && i < static_cast<int64_t>(plan.size()), "inputs: batch ", i, " out of range [0, ",
                plan.size(), ")");
    if (i != next) {
      loader.start(0, std::vector<std::vector<int64_t>>(plan.begin() + i, plan.end()));
      next = i;
    }
    std::optional<data::Batch> b = loader.next();
    ++next;
    if (!b || b->indices != plan[static_cast<size_t>(i)])
      throw DataError(fmt::format("{}: an image became unreadable since its features were extracted ({})",
                                  loader.dataset().name, loader.dataset().images->describe(plan[size_t(i)].front())));
    return b->images;
  }
  data::Loader loader;
  std::vector<std::vector<int64_t>> plan;
  int64_t next = -1;  // the batch index the loader delivers next; -1: not started
};

class DatasetEvalSet final : public EvalSet {
 public:
  DatasetEvalSet(data::Dataset set, data::Transform t, int64_t workers, std::ostream* warnings)
      : set_(std::move(set)), transform_(std::move(t)), workers_(workers), warnings_(warnings) {
    TORCH_CHECK(!transform_.is_random(), "dataset_eval_set: evaluation needs a deterministic transform, got ",
                transform_.name);
  }
  const std::string& name() const override { return set_.name; }
  int64_t size() const override { return set_.size(); }
  torch::Tensor labels() const override { return set_.labels; }
  std::string content_hash() const override { return dataset_content_hash(set_); }
  std::string transform() const override {
    std::vector<std::string> steps;
    for (const auto& s : transform_.steps)
      steps.push_back(fmt::format("{}:{}x{}", static_cast<int>(s.kind), s.height, s.width));
    return fmt::format("{} [{}], {}, normalise mean {} std {}{}", transform_.name, fmt::join(steps, " "),
                       transform_.to_rgb ? "rgb" : transform_.to_gray ? "gray" : "as decoded",
                       fmt::join(transform_.mean, ","), fmt::join(transform_.std, ","),
                       transform_.normalization == data::Normalization::ScaleShift ? " (scale-shift)" : "");
  }
  std::vector<double> channel_std() const override { return transform_.std; }
  ExtractedSet extract(model::MultiLabelNet& model, int64_t batch_size) const override {
    ExtractedSet e;
    e.features = extract_features(model, set_, transform_, batch_size, workers_, warnings_, &e.rows);
    return e;
  }
  score::InputBatches inputs(const std::vector<int64_t>& rows, int64_t batch_size) const override {
    TORCH_CHECK(batch_size >= 1, "inputs: batch size must be positive, got ", batch_size);
    auto plan = data::make_batches(rows, batch_size, false);
    score::InputBatches b;
    b.count = static_cast<int64_t>(plan.size());
    // Corrupt images were reported by extract(); no second warning here.
    auto reader = std::make_shared<PlannedReader>(set_, transform_, workers_, nullptr, std::move(plan));
    b.batch = [reader](int64_t i) { return reader->batch(i); };
    return b;
  }

 private:
  data::Dataset set_;
  data::Transform transform_;
  int64_t workers_;
  std::ostream* warnings_;
};

}  // namespace

std::unique_ptr<EvalSet> dataset_eval_set(data::Dataset set, data::Transform transform, int64_t workers,
                                          std::ostream* warnings) {
  return std::make_unique<DatasetEvalSet>(std::move(set), std::move(transform), workers, warnings);
}

std::string dataset_content_hash(const data::Dataset& set) {
  uint64_t h = fnv1a_text(fmt::format("{} images\x1f", set.size()), kFnvOffset);
  for (int64_t i = 0; i < set.size(); ++i) {
    const std::filesystem::path p = set.images->describe(i);
    std::error_code ec;
    const auto status = std::filesystem::status(p, ec);
    if (!ec && std::filesystem::is_regular_file(status)) {
      const auto size = std::filesystem::file_size(p, ec);
      const auto mtime = std::filesystem::last_write_time(p, ec).time_since_epoch().count();
      h = fnv1a_text(fmt::format("{}\x1f{}\x1f{}\x1f", std::filesystem::absolute(p).string(), size,
                                 static_cast<int64_t>(mtime)), h);
    } else {
      try {
        h = tensor_fnv1a(set.images->load(i), h);
      } catch (const DataError&) {  // left out by the evaluation too
        h = fnv1a_text("unreadable " + p.string() + "\x1f", h);
      }
    }
  }
  return hex64(tensor_fnv1a(set.labels, h));
}

}  // namespace edge::eval
