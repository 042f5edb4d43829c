// `edge serve`: the run as an HTTP service until SIGTERM / SIGINT.
#include <pthread.h>
#include <signal.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edge/app/commands.h"
#include "edge/common/error.h"

namespace edge::app {

namespace {

// SIGTERM and SIGINT blocked in this thread, and so in every thread it starts from here on
// (the server's), and taken by sigwait() instead of a handler: stopping the server is not
// async-signal-safe, so it happens in this ordinary thread. The mask is restored on exit.
class BlockedStopSignals {
 public:
  BlockedStopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~BlockedStopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  int wait() const {
    int sig = 0;
    while (sigwait(&set_, &sig) != 0) {
    }
    return sig;
  }

 private:
  sigset_t set_, previous_;
};

}  // namespace

int run_serve(const ServeParams& p, std::ostream& out, std::ostream& err) {
  serve::validate(p.options);
  const BlockedStopSignals signals;
  serve::Server server(p.checkpoint, p.options);
  server.start();
  const auto info = nlohmann::json::parse(server.model_info());
  out << fmt::format("edge serve: listening on http://{}:{} ({} {}, score {}, {})", p.options.host, server.port(),
                     info["architecture"].get<std::string>(), info["model_hash"].get<std::string>(),
                     info["score_fn"].get<std::string>(),
                     info["calibrated"].get<bool>()
                         ? fmt::format("threshold {} at TPR {}", info["threshold"].get<double>(),
                                       info["tpr"].get<double>())
                         : std::string("uncalibrated"))
      << std::endl;
  const int sig = signals.wait();
  err << fmt::format("edge serve: {}: finishing the requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT")
      << std::endl;
  server.stop();
  const serve::Metrics& m = server.metrics();
  out << fmt::format("edge serve: stopped; {} images in {} batches, {} predict requests answered",
                     m.images(), m.batches(), m.requests("/v1/predict", 200))
      << std::endl;
  return 0;
}

}  // namespace edge::app
