// `edge data materialise`: a benchmark written out as files (data/materialise.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/data/registry.h"

namespace edge::app {

data::MaterialisedBenchmark run_data_materialise(const DataMaterialiseParams& p, std::ostream& out) {
  if (p.out.empty()) throw UsageError("--out: the folder to write the benchmark into is required");
  const data::RunRecipe recipe = data::run_recipe(p.dataset, 256, false, p.sizes);
  data::BenchmarkSpec spec;
  spec.dataset = p.dataset;
  spec.data_root = p.data_root;
  spec.builtin = p.sizes;
  spec.allow_outside_paths = p.allow_outside_paths;
  spec.oe_data = p.oe_data.empty() ? recipe.default_oe : p.oe_data;
  spec.ood_data = p.ood_data.empty() ? recipe.default_ood : p.ood_data;
  const data::Benchmark b = data::open_benchmark(spec);
  out << fmt::format("writing {}: id_train {}, id_val {}, id_test {}, oe {}, OOD {} into {} ...\n", b.name,
                     b.id_train.size(), b.id_val.size(), b.id_test.size(), b.oe_train.size(), b.ood_tests.size(),
                     p.out.string())
      << std::flush;
  const auto m = data::materialise_benchmark(b, p.out);
  out << fmt::format("wrote {}; read it back with\n  --dataset {}{}{}\n", p.out.string(), m.dataset,
                     m.oe_data.empty() ? "" : " --oe_data " + m.oe_data,
                     m.ood_data.empty() ? "" : fmt::format(" --ood_data {}", fmt::join(m.ood_data, ",")));
  return m;
}

}  // namespace edge::app
