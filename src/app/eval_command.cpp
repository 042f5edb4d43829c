// `edge eval`: the library's evaluation (eval/evaluate_run.h).
#include "edge/app/commands.h"
#include "edge/eval/evaluate_run.h"

namespace edge::app {

std::vector<eval::OodReport> run_eval(const EvalParams& params, std::ostream& out) {
  return eval::evaluate_run(params, out);
}

}  // namespace edge::app
