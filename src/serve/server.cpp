#include "edge/serve/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/eval/deployment.h"
#include "edge/serve/batcher.h"
#include "edge/train/trainer.h"

namespace edge::serve {

namespace {

using Clock = std::chrono::steady_clock;

// httplib::Server with a wider listen backlog: the library's compiled-in 5 makes a burst of
// new connections beyond it wait for SYN retransmits (a second each). Linux lets listen()
// be called again on a listening socket to change its backlog.
class HttpServer : public httplib::Server {
 public:
  void widen_backlog(int backlog) { ::listen(svr_sock_, backlog); }
};

// The routes and the methods each takes; anything else is 404 / 405 before routing.
const std::vector<std::pair<std::string, std::vector<std::string>>>& routes() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> r = {
      {"/v1/predict", {"POST"}},
      {"/v1/health", {"GET", "HEAD"}},
      {"/v1/model", {"GET", "HEAD"}},
      {"/metrics", {"GET", "HEAD"}}};
  return r;
}

// The label a request is counted under in /metrics: a route, or "other" (no unbounded labels).
std::string metric_path(const std::string& path) {
  for (const auto& [p, methods] : routes())
    if (p == path) return p;
  return "other";
}

}  // namespace

void validate(const ServeOptions& o) {
  auto at_least = [](const char* flag, int64_t v, int64_t lo) {
    if (v < lo) throw UsageError(fmt::format("{} must be >= {}, got {}", flag, lo, v));
  };
  if (o.port < 0 || o.port > 65535) throw UsageError(fmt::format("--port must be in [0, 65535], got {}", o.port));
  if (o.host.empty()) throw UsageError("--host: expected an address to bind, e.g. 127.0.0.1");
  at_least("--threads", o.threads, 0);
  at_least("--connections", o.connections, 1);
  at_least("--max_batch", o.max_batch, 1);
  at_least("--max_wait_ms", o.max_wait_ms, 0);
  at_least("--max_body_mb", o.max_body_mb, 1);
  at_least("--max_images", o.max_images, 1);
  at_least("--top", o.top, 0);
  if (!(o.label_threshold >= 0.0 && o.label_threshold <= 1.0))
    throw UsageError(fmt::format("--label_threshold must be in [0, 1], got {}", o.label_threshold));
  if (o.read_timeout_s < 1 || o.keep_alive_s < 1) throw UsageError("serve: timeouts must be >= 1 s");
}

struct Server::Impl {
  ServeOptions o;
  eval::DeployedRun d;
  std::unique_ptr<eval::InferenceSession> session;
  Metrics metrics;
  std::unique_ptr<Batcher> batcher;
  HttpServer http;
  std::thread listener;
  int port = -1;
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;

  Impl(const std::filesystem::path& checkpoint, ServeOptions options);
  void routes_and_handlers();
  void reply_error(httplib::Response& res, int status, const std::string& kind, const std::string& message);
  void predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  std::vector<EncodedImage> read_images(const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader);
  nlohmann::json answer(const std::vector<EncodedImage>& images, Batcher::Arrival& arrival);
  std::string model_info() const;
};

Server::Impl::Impl(const std::filesystem::path& checkpoint, ServeOptions options)
    : o(std::move(options)), d(eval::open_deployed_run(checkpoint, o.score_fn, o.require_calibration)) {
  train::set_threads(o.threads > 0 ? o.threads : d.run.config.threads);
  session = std::make_unique<eval::InferenceSession>(d.run);
  batcher = std::make_unique<Batcher>([this](const torch::Tensor& x) { return session->logits(x); }, o.max_batch,
                                      std::chrono::milliseconds(o.max_wait_ms),
                                      [this](int64_t n) { metrics.batch(n); });
  routes_and_handlers();
}

void Server::Impl::reply_error(httplib::Response& res, int status, const std::string& kind,
                               const std::string& message) {
  metrics.error(kind);
  res.status = status;
  res.set_content(nlohmann::json{{"error", kind}, {"message", message}}.dump() + "\n", "application/json");
}

std::string Server::Impl::model_info() const {
  const auto& cal = d.calibration;
  const auto& c = d.run.config;
  nlohmann::json j{{"architecture", c.model.arch},
                   {"dataset", c.dataset},
                   {"classes", d.class_names},
                   {"score_fn", d.score_name()},
                   {"calibrated", cal.has_value()},
                   {"threshold", cal ? nlohmann::json(cal->threshold) : nlohmann::json(nullptr)},
                   {"tpr", cal ? nlohmann::json(cal->tpr) : nlohmann::json(nullptr)},
                   {"achieved_tpr", cal ? nlohmann::json(cal->achieved_tpr) : nlohmann::json(nullptr)},
                   {"calibration_dataset", cal ? nlohmann::json(cal->dataset + "/" + cal->split) : nlohmann::json(nullptr)},
                   {"calibrated_at", cal ? nlohmann::json(cal->created) : nlohmann::json(nullptr)},
                   {"model_hash", d.run.weights_hash},
                   {"label_threshold", o.label_threshold},
                   {"max_batch", o.max_batch}};
  return j.dump() + "\n";
}

// Reads the images of a predict request: the body, or each multipart part in order. Returns
// {} with `res` already the error when the body could not be read whole.
std::vector<EncodedImage> Server::Impl::read_images(const httplib::Request& req, httplib::Response& res,
                                                    const httplib::ContentReader& reader) {
  std::vector<EncodedImage> images;
  bool too_many = false;
  bool ok = false;
  if (req.is_multipart_form_data()) {
    ok = reader(
        [&](const httplib::MultipartFormData& part) {
          too_many = int64_t(images.size()) >= o.max_images;
          images.push_back({part.filename.empty() ? part.name : part.filename, part.content_type, true, {}});
          return !too_many;
        },
        [&](const char* data, size_t n) {
          images.back().bytes.append(data, n);
          return true;
        });
  } else {
    images.push_back({"", req.get_header_value("Content-Type"), false, {}});
    ok = reader([&](const char* data, size_t n) {
      images.back().bytes.append(data, n);
      return true;
    });
  }
  if (ok && !images.empty()) return images;
  // What is left of the body is unread: the connection cannot carry another request.
  res.set_header("Connection", "close");
  if (too_many)
    reply_error(res, 413, "too_many_images", fmt::format("more than {} images in one request", o.max_images));
  else if (res.status == 413)
    reply_error(res, 413, "body_too_large", fmt::format("the body exceeds --max_body_mb {}", o.max_body_mb));
  else if (ok)
    reply_error(res, 400, "empty_body", "multipart body without any part; expected one image per part");
  else
    reply_error(res, 400, "bad_body", "the body could not be read (malformed multipart, or cut short)");
  return {};
}

// Every image decoded and transformed here, in the connection's thread (so decoding runs in
// parallel across connections), then one batcher slot per image; the records are built by
// the code `edge predict` prints with.
nlohmann::json Server::Impl::answer(const std::vector<EncodedImage>& images, Batcher::Arrival& arrival) {
  std::vector<torch::Tensor> inputs;
  for (const auto& image : images) inputs.push_back(session->input(decode_request_image(image, o.limits)));
  std::vector<std::future<torch::Tensor>> rows;
  // A lone image may run at once in this thread (Batcher::submit); several wait for one pass.
  for (auto& input : inputs) rows.push_back(batcher->submit(std::move(input), inputs.size() == 1 ? &arrival : nullptr));
  arrival.release();
  std::vector<torch::Tensor> logits;
  std::vector<std::string> paths;
  for (size_t i = 0; i < rows.size(); ++i) {
    logits.push_back(rows[i].get());
    paths.push_back(images[i].name);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : eval::predictions(d, torch::stack(logits), paths, o.label_threshold, o.top))
    out.push_back(eval::prediction_json(d, p));
  return {{"predictions", out}};
}

void Server::Impl::predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  const auto t0 = Clock::now();
  Batcher::Arrival arrival(*batcher);  // released once its images are queued (answer())
  const std::vector<EncodedImage> images = read_images(req, res, reader);
  if (images.empty()) return;
  try {
    res.set_content(answer(images, arrival).dump() + "\n", "application/json");
    metrics.predict_latency(std::chrono::duration<double>(Clock::now() - t0).count());
  } catch (const RequestError& e) {
    reply_error(res, e.status(), e.kind(), e.what());
  } catch (const std::exception& e) {
    reply_error(res, 500, "internal", e.what());
  }
  if (stopping) res.set_header("Connection", "close");
}

// 404 / 405 before routing (so no other method reaches a route), JSON for the errors
// httplib itself answers (413 over --max_body_mb, 400 for malformed requests), one count
// per answer.
void Server::Impl::routes_and_handlers() {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    for (const auto& [path, methods] : routes()) {
      if (path != req.path) continue;
      if (std::find(methods.begin(), methods.end(), req.method) != methods.end())
        return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("Allow", fmt::format("{}", fmt::join(methods, ", ")));
      res.set_header("Connection", "close");
      reply_error(res, 405, "method_not_allowed", fmt::format("{} {}: allowed {}", req.method, path,
                                                              fmt::join(methods, ", ")));
      return httplib::Server::HandlerResponse::Handled;
    }
    res.set_header("Connection", "close");  // a body it may carry is left unread
    reply_error(res, 404, "not_found", fmt::format("{} {}: no such endpoint (POST /v1/predict, GET /v1/health, "
                                                   "/v1/model, /metrics)", req.method, req.path));
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) { predict(req, res, reader); });
  http.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    res.status = stopping ? 503 : 200;
    res.set_content(fmt::format("{{\"status\":\"{}\"}}\n", stopping ? "stopping" : "ok"), "application/json");
  });
  http.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_info(), "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.prometheus(), "text/plain; version=0.0.4");
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours, already JSON
    const bool too_large = res.status == 413;
    reply_error(res, res.status, too_large ? "body_too_large" : "bad_request",
                too_large ? fmt::format("the body exceeds --max_body_mb {}", o.max_body_mb)
                          : fmt::format("malformed HTTP request (status {})", res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, 500, "internal", what);
  });
  // Counted after routing but before the answer is written (a logger would run after it), so
  // a client that has its answer also finds it in /metrics.
  http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics.request(metric_path(req.path), res.status);
  });
}

void Server::start() {
  Impl& m = *impl_;
  TORCH_CHECK(m.port < 0, "Server::start: already started");
  const size_t connections = size_t(m.o.connections);
  m.http.new_task_queue = [connections] { return new httplib::ThreadPool(connections); };
  m.http.set_tcp_nodelay(true);  // a small JSON answer must not wait for Nagle + delayed ACK
  m.http.set_payload_max_length(size_t(m.o.max_body_mb) << 20);
  m.http.set_read_timeout(time_t(m.o.read_timeout_s));
  m.http.set_write_timeout(time_t(m.o.read_timeout_s));
  m.http.set_keep_alive_timeout(time_t(m.o.keep_alive_s));
  m.http.set_keep_alive_max_count(1000);
  const bool bound = m.o.port == 0 ? (m.port = m.http.bind_to_any_port(m.o.host)) > 0
                                   : m.http.bind_to_port(m.o.host, m.o.port);
  if (!bound)
    throw DataError(fmt::format("--host {} --port {}: cannot listen there (in use, or not an address of this "
                                "machine)", m.o.host, m.o.port));
  if (m.o.port != 0) m.port = m.o.port;
  m.http.widen_backlog(int(std::max<int64_t>(128, m.o.connections)));
  m.listener = std::thread([&m] { m.http.listen_after_bind(); });
  while (!m.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// httplib's stop() closes the listening socket; listen_after_bind() then returns once every
// connection thread has finished its request (an idle kept-alive connection waits at most
// keep_alive_s). Only then is the batcher drained: no handler can be waiting on it any more.
void Server::stop() {
  if (!impl_) return;
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.stop_mu);
  m.stopping = true;
  if (m.listener.joinable()) {
    m.http.stop();
    m.listener.join();
  }
  m.batcher->stop();
}

Server::Server(const std::filesystem::path& checkpoint, ServeOptions options) {
  validate(options);
  impl_ = std::make_unique<Impl>(checkpoint, std::move(options));
}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }
const Metrics& Server::metrics() const { return impl_->metrics; }
std::string Server::model_info() const { return impl_->model_info(); }

}  // namespace edge::serve
