// `edge serve`: the run as an HTTP service (ServeParams, serve/server.h).
#include "app/cli/command.h"
#include "edge/app/commands.h"

namespace edge::app::cli {

namespace {

class ServeCommand final : public BoundCommand<ServeParams> {
 public:
  explicit ServeCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("serve", "the run as an HTTP service: POST /v1/predict, GET /v1/health, /v1/model, /metrics");
    serve::ServeOptions& o = p_.options;
    cmd_->add_option("--checkpoint", p_.checkpoint, "run directory written by `edge train`")->required();
    cmd_->add_option("--host", o.host, "address to bind (another than 127.0.0.1 exposes the service)")
        ->capture_default_str();
    cmd_->add_option("--port", o.port, "TCP port (0 = any free one, printed at start)")->capture_default_str();
    cmd_->add_option("--threads", o.threads, "intra-op threads of the forward pass (0 = the run's setting)")
        ->capture_default_str();
    cmd_->add_option("--connections", o.connections, "connections served at once (one thread each)")
        ->capture_default_str();
    cmd_->add_option("--max_batch", o.max_batch, "images per forward pass")->capture_default_str();
    cmd_->add_option("--max_wait_ms", o.max_wait_ms, "the oldest waiting image waits at most this for a fuller batch")
        ->capture_default_str();
    cmd_->add_option("--max_body_mb", o.max_body_mb, "larger request bodies are refused (413)")->capture_default_str();
    cmd_->add_option("--max_images", o.max_images, "images per request (multipart parts)")->capture_default_str();
    cmd_->add_flag("--require_calibration", o.require_calibration, "refuse to start without calibration.json");
    cmd_->add_option("--score_fn", o.score_fn, "as `edge predict --score_fn`");
    cmd_->add_option("--label_threshold", o.label_threshold, "predict a label when sigmoid >= this")
        ->capture_default_str();
    cmd_->add_option("--top", o.top, "at most K labels per image (0 = all)")->capture_default_str();
    cmd_->add_option("--read_timeout", o.read_timeout_s, "seconds a connection may stay silent mid-request")
        ->capture_default_str();
  }
  int run(const Context& ctx) override { return run_serve(p_, ctx.out, ctx.err); }
};

}  // namespace

std::unique_ptr<Command> serve_command(CLI::App& app) { return std::make_unique<ServeCommand>(app); }

}  // namespace edge::app::cli
