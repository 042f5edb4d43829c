// `edge serve`: a trained (and calibrated) run as an HTTP service on cpp-httplib (Debian's
// libcpp-httplib-dev). The model is loaded once; images from every connection are batched
// (serve/batcher.h) through the same code as `edge predict` (eval/deployment.h), so an answer
// carries exactly the record `edge predict --format jsonl` prints for the same file.
//
//   POST /v1/predict  one image as the body (Content-Type image/jpeg | image/png | image/bmp)
//                     or several as multipart/form-data -> {"predictions": [record, ...]},
//                     in the order of the images; a part's "path" is its file name
//   GET  /v1/health   {"status": "ok"} (503 "stopping" while shutting down)
//   GET  /v1/model    architecture, classes, score, threshold, TPR, model hash, calibration date
//   GET  /metrics     Prometheus text (serve/metrics.h)
// Refusals are JSON {"error": KIND, "message": LINE} with a 4xx status (serve/request.h);
// one bad image refuses its whole request. No request names a file on the server: the only
// file read is the run directory given at start. Binds 127.0.0.1 unless told otherwise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "edge/serve/metrics.h"
#include "edge/serve/request.h"

namespace edge::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: any free port (Server::port() says which)
  int64_t threads = 0;               // intra-op threads of the forward pass (0 = the run's setting)
  int64_t connections = 64;          // connection threads: connections served at once
  int64_t max_batch = 32;            // images per forward pass
  int64_t max_wait_ms = 5;           // the oldest queued image waits at most this for a fuller batch
  int64_t max_body_mb = 16;          // larger bodies get 413
  int64_t max_images = 64;           // images per request
  bool require_calibration = false;  // refuse to start without calibration.json
  std::string score_fn;              // as `edge predict --score_fn`
  double label_threshold = 0.5;      // as `edge predict --label_threshold`
  int64_t top = 0;                   // as `edge predict --top`
  ImageLimits limits;
  int64_t read_timeout_s = 5;        // a connection silent this long mid-request is closed
  int64_t keep_alive_s = 2;          // an idle kept-alive connection is closed after this
};

// Checks `o` (UsageError naming the flag).
void validate(const ServeOptions& o);

class Server {
 public:
  // Opens the run for deployment (eval::open_deployed_run: the errors of `edge predict`).
  Server(const std::filesystem::path& checkpoint, ServeOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves from background threads; returns once connections are accepted.
  // Throws DataError naming the address when it cannot bind.
  void start();
  int port() const;
  // Stops accepting, lets every request already read finish and be answered, then returns.
  // Idempotent; safe from any thread (not from a signal handler).
  void stop();
  const Metrics& metrics() const;
  // What GET /v1/model answers.
  std::string model_info() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edge::serve
