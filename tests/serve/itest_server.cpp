// `edge serve` on loopback (serve/server.h): answers equal `edge predict --format jsonl` for
// the same files under concurrent clients, every bad request is refused with a JSON 4xx while
// the server keeps serving, slow and abandoned connections are closed, and a shutdown with
// requests in flight answers every one of them completely (in-process, and the real binary
// on SIGTERM).
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "edge/common/atomic_file.h"
#include "edge/data/fashion_lt.h"
#include "edge/serve/server.h"
#include "edge/train/train_config.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

void append(void* ctx, void* data, int n) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), n); }

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One tiny trained + calibrated run and a folder of its test images as PNG files, shared by
// every test here (training takes a few seconds).
class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new edge::test::TempDir();
    run_ = dir_->path() / "run";
    // One epoch of a few images: the model's quality does not matter here, only that it is a
    // calibrated run (fp32, the mode whose numbers the comparisons with `edge predict` read).
    auto r = edge::test::run_cli({"train", "--score", "joint", "--n_epoch", "1", "--start_epoch", "0", "--id_train",
                                  "128", "--id_val", "64", "--id_test", "16", "--oe_train", "128", "--ood_test", "16",
                                  "--batch_size", "64", "--oe_batch_size", "64", "--k", "16", "--hidden", "64",
                                  "--width", "8", "--precision", "fp32", "--channels_last", "false", "--out", run_.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    r = edge::test::run_cli({"calibrate", "--checkpoint", run_.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    images_ = dir_->path() / "images";
    fs::create_directories(images_);
    edge::data::FashionLtParts parts;
    parts.id_train = parts.id_val = parts.oe_train = false;
    parts.ood = {"noise"};
    const auto bench = edge::data::build_fashion_lt(edge::train::load_run_config(run_).data, parts);
    for (const auto& [set, stem] : {std::pair{&bench.id_test, "id"}, {&bench.ood_tests[0], "noise"}})
      for (int i = 0; i < 8; ++i) {
        const torch::Tensor img = set->images->load(i).contiguous();  // uint8 [1, H, W]
        const fs::path f = images_ / fmt::format("{}_{}.png", stem, i);
        ASSERT_TRUE(stbi_write_png(f.c_str(), int(img.size(2)), int(img.size(1)), 1, img.data_ptr<uint8_t>(),
                                   int(img.size(2))));
      }
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::unique_ptr<edge::serve::Server> start(edge::serve::ServeOptions o = {}) {
    o.port = 0;
    auto s = std::make_unique<edge::serve::Server>(run_, o);
    s->start();
    return s;
  }
  static std::vector<fs::path> image_files() {
    std::vector<fs::path> f;
    for (const auto& e : fs::directory_iterator(images_)) f.push_back(e.path());
    std::sort(f.begin(), f.end());
    return f;
  }

  // The checks, grouped into three tests below: each test is its own process under ctest,
  // and each process trains the run once.
  static void AnswersAsEdgePredictDoesForTheSameFiles();
  static void AnswersEveryClientItsOwnImagesUnderConcurrency();
  static void RefusesEveryBadRequestWithAJsonErrorAndKeepsServing();
  static void ClosesSlowAndAbandonedConnectionsWhileServingOthers();
  static void DescribesTheModelHealthAndMetrics();
  static void ShutdownAnswersEveryRequestInFlight();
  static void SigtermStopsTheBinaryAfterAnsweringWhatIsInFlight();

  static edge::test::TempDir* dir_;
  static fs::path run_, images_;
};
edge::test::TempDir* ServeTest::dir_ = nullptr;
fs::path ServeTest::run_, ServeTest::images_;

// `edge predict --format jsonl` of `files`, by path.
std::map<std::string, json> predict_records(const fs::path& run, const std::vector<fs::path>& files) {
  std::vector<std::string> args = {"predict", "--checkpoint", run.string(), "--format", "jsonl"};
  for (const auto& f : files) args.push_back(f.string());
  const auto r = edge::test::run_cli(args);
  EXPECT_EQ(r.code, 0) << r.err;
  std::map<std::string, json> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    out[j["path"]] = j;
  }
  return out;
}

// Raw bytes to the server; what comes back before it closes (or `wait` passes).
std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait = 3000ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{long(wait.count() / 1000), long(wait.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, size_t(n));
  ::close(fd);
  return got;
}

json body_json(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no response";
  return r ? json::parse(r->body) : json();
}

// Records equal up to float32 rounding: the forward pass's last bits depend on the batch it
// ran in (oneDNN / BLAS blocking), for `edge predict --batch_size` as much as for the server.
void expect_same_record(const json& got, const json& want, const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  for (const char* key : {"path", "score_fn", "threshold", "decision"}) EXPECT_EQ(got[key], want[key]) << what << key;
  EXPECT_NEAR(got["score"].get<double>(), want["score"].get<double>(), 1e-6 * std::abs(want["score"].get<double>()));
  ASSERT_EQ(got["probabilities"].size(), want["probabilities"].size()) << what;
  for (size_t c = 0; c < want["probabilities"].size(); ++c)
    EXPECT_NEAR(got["probabilities"][c].get<double>(), want["probabilities"][c].get<double>(), 1e-6) << what;
  ASSERT_EQ(got["labels"].size(), want["labels"].size()) << what;
  for (size_t k = 0; k < want["labels"].size(); ++k) EXPECT_EQ(got["labels"][k]["index"], want["labels"][k]["index"]);
}

void ServeTest::AnswersAsEdgePredictDoesForTheSameFiles() {
  const auto files = image_files();
  const auto expected = predict_records(run_, files);
  ASSERT_EQ(expected.size(), files.size());
  edge::serve::ServeOptions o;
  o.max_wait_ms = 200;
  auto server = start(o);
  // All in one multipart request, in predict's order: one pass over the same batch as
  // `edge predict`'s, so every field is bit for bit the same; each part named by its file name.
  httplib::MultipartFormDataItems items;
  for (const auto& f : files) items.push_back({"image", read_file(f), f.filename().string(), "image/png"});
  const json all = body_json(httplib::Client("127.0.0.1", server->port()).Post("/v1/predict", items));
  ASSERT_EQ(all["predictions"].size(), files.size()) << all;
  for (size_t i = 0; i < files.size(); ++i) {
    json want = expected.at(files[i].string());
    want["path"] = files[i].filename().string();
    EXPECT_EQ(all["predictions"][i], want) << files[i];
  }
  EXPECT_EQ(server->metrics().batches(), 1);
}

void ServeTest::AnswersEveryClientItsOwnImagesUnderConcurrency() {
  const auto files = image_files();
  const auto expected = predict_records(run_, files);
  edge::serve::ServeOptions o;
  o.max_batch = 4;
  auto server = start(o);
  // 8 clients, one image per request each: batches mix images of different clients.
  std::vector<json> got(files.size());
  std::vector<std::thread> clients;
  for (size_t c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", server->port());
      for (size_t i = c; i < files.size(); i += 8) {
        auto r = cli.Post("/v1/predict", read_file(files[i]), "image/png");
        ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
        got[i] = json::parse(r->body)["predictions"][0];
      }
    });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < files.size(); ++i) {
    json want = expected.at(files[i].string());
    want["path"] = "";
    expect_same_record(got[i], want, files[i].string());
  }
  EXPECT_LT(server->metrics().batches(), int64_t(files.size())) << "no two requests shared a forward pass";
}

std::string png_bytes(int h, int w) {
  const torch::Tensor px = (torch::arange(h * w, torch::kInt64) * 13 % 256).to(torch::kUInt8).contiguous();
  std::string s;
  stbi_write_png_to_func(append, &s, w, h, 1, px.data_ptr<uint8_t>(), w);
  return s;
}

std::string jpeg_bytes(int h, int w) {
  const torch::Tensor px = (torch::arange(h * w, torch::kInt64) * 13 % 256).to(torch::kUInt8).contiguous();
  std::string s;
  stbi_write_jpg_to_func(append, &s, w, h, 1, px.data_ptr<uint8_t>(), 90);
  return s;
}

// `status kind` of a JSON error answer ("200" for a success, "none" without an answer).
std::string refusal(const httplib::Result& r) {
  if (!r) return "none";
  if (r->status == 200) return "200";
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << r->body;
  return fmt::format("{} {}", r->status, json::parse(r->body).value("error", "?"));
}

void ServeTest::RefusesEveryBadRequestWithAJsonErrorAndKeepsServing() {
  edge::serve::ServeOptions o;
  o.max_body_mb = 1;
  auto server = start(o);
  httplib::Client cli("127.0.0.1", server->port());
  const std::string good = read_file(image_files()[0]);
  std::string bomb = png_bytes(16, 16);  // IHDR rewritten to declare 100000 x 100000
  for (int i : {16, 20}) bomb[i] = 0, bomb[i + 1] = 0x01, bomb[i + 2] = char(0x86), bomb[i + 3] = char(0xA0);
  const std::string jpg = jpeg_bytes(64, 64);
  EXPECT_EQ(refusal(cli.Post("/v1/predict", "", "image/png")), "400 empty_body");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", "just some text", "image/png")), "422 not_an_image");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", jpg.substr(0, jpg.size() / 2), "image/jpeg")), "422 truncated");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", bomb, "image/png")), "422 too_many_pixels");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", png_bytes(1, 1), "image/png")), "422 too_small");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", std::string(1100000, 'x'), "image/png")), "413 body_too_large");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", good, "application/json")), "415 unsupported_media_type");
  EXPECT_EQ(refusal(cli.Post("/v1/predict", good, "image/jpeg")), "415 content_type_mismatch");
  EXPECT_EQ(refusal(cli.Get("/v1/predict")), "405 method_not_allowed");
  EXPECT_EQ(refusal(cli.Delete("/v1/model")), "405 method_not_allowed");
  EXPECT_EQ(refusal(cli.Get("/v2/predict")), "404 not_found");
  // No request names a file on the server: neither a path nor a part's file name is opened.
  EXPECT_EQ(refusal(cli.Get("/../../etc/passwd")), "404 not_found");
  EXPECT_EQ(refusal(cli.Get("/v1/model/../../../etc/passwd")), "404 not_found");
  httplib::MultipartFormDataItems named{{"image", "", "/etc/passwd", "image/png"}};
  EXPECT_EQ(refusal(cli.Post("/v1/predict", named)), "400 empty_body");
  httplib::MultipartFormDataItems mixed{{"a", good, "a.png", "image/png"}, {"b", "text", "b.png", "image/png"}};
  EXPECT_EQ(refusal(cli.Post("/v1/predict", mixed)), "422 not_an_image");  // one bad image refuses all
  // Not HTTP, an unknown method: 400 from the HTTP layer, still JSON.
  EXPECT_NE(raw_exchange(server->port(), "BREW /v1/predict HTTP/1.1\r\nHost: x\r\n\r\n", 500ms).find("400"),
            std::string::npos);
  EXPECT_NE(raw_exchange(server->port(), "\x01\x02garbage\r\n\r\n", 500ms).find("\"error\""), std::string::npos);
  // Still serving, on the same connection and on new ones.
  EXPECT_EQ(refusal(cli.Post("/v1/predict", good, "image/png")), "200");
  EXPECT_EQ(refusal(httplib::Client("127.0.0.1", server->port()).Post("/v1/predict", good, "image/png")), "200");
  const auto& m = server->metrics();
  for (const char* kind : {"empty_body", "not_an_image", "truncated", "too_many_pixels", "too_small", "body_too_large",
                           "unsupported_media_type", "content_type_mismatch", "method_not_allowed", "not_found"})
    EXPECT_GE(m.errors(kind), 1) << kind;
  EXPECT_EQ(m.requests("/v1/predict", 200), 2);
}

void ServeTest::ClosesSlowAndAbandonedConnectionsWhileServingOthers() {
  edge::serve::ServeOptions o;
  o.read_timeout_s = 1;
  auto server = start(o);
  const auto t0 = std::chrono::steady_clock::now();
  // A body promised but never sent, and a request line never finished.
  std::string abandoned, unfinished;
  std::thread a([&] {
    abandoned = raw_exchange(server->port(), "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                                             "Content-Length: 100000\r\n\r\n\x89PNG", 6000ms);
  });
  std::thread b([&] { unfinished = raw_exchange(server->port(), "GET /v1/hea", 6000ms); });
  std::this_thread::sleep_for(100ms);
  httplib::Client cli("127.0.0.1", server->port());
  EXPECT_EQ(refusal(cli.Post("/v1/predict", read_file(image_files()[0]), "image/png")), "200");
  a.join();
  b.join();
  // Both closed by the server after about the read timeout, not left open for the 6 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5000ms);
  EXPECT_EQ(abandoned.find("200 OK"), std::string::npos) << abandoned;
  EXPECT_EQ(unfinished.find("200 OK"), std::string::npos) << unfinished;
  EXPECT_EQ(refusal(cli.Get("/v1/health")), "200");
}

void ServeTest::DescribesTheModelHealthAndMetrics() {
  auto server = start();
  httplib::Client cli("127.0.0.1", server->port());
  const json cal = json::parse(edge::read_text_file(run_ / "calibration.json"));
  const json model = body_json(cli.Get("/v1/model"));
  EXPECT_EQ(model["architecture"], "small_resnet");
  EXPECT_EQ(model["classes"], cal["class_names"]);
  EXPECT_EQ(model["score_fn"], cal["score"]);
  EXPECT_EQ(model["threshold"], cal["threshold"]);
  EXPECT_EQ(model["tpr"], cal["tpr"]);
  EXPECT_EQ(model["model_hash"], cal["weights_hash"]);
  EXPECT_EQ(model["calibrated_at"], cal["created"]);
  EXPECT_EQ(body_json(cli.Get("/v1/health"))["status"], "ok");
  ASSERT_EQ(refusal(cli.Post("/v1/predict", read_file(image_files()[0]), "image/png")), "200");
  const auto metrics = cli.Get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* series : {"edge_http_requests_total{path=\"/v1/predict\",code=\"200\"} 1",
                             "edge_http_requests_total{path=\"/v1/model\",code=\"200\"} 1", "edge_batch_size_count 1",
                             "edge_images_total 1", "edge_predict_latency_seconds_count 1"})
    EXPECT_NE(metrics->body.find(series), std::string::npos) << series << "\n" << metrics->body;
  EXPECT_EQ(edge::serve::ServeOptions{}.host, "127.0.0.1");  // loopback unless told otherwise
}

// A POST whose body arrives in two halves `pause` apart (a request still being read); the
// raw answer.
std::string slow_post(int port, const std::string& image, std::chrono::milliseconds pause) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "not connected";
  const std::string head = fmt::format("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                                       "Content-Length: {}\r\nConnection: close\r\n\r\n", image.size());
  const std::string first = head + image.substr(0, image.size() / 2), rest = image.substr(image.size() / 2);
  ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(pause);
  ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, size_t(n));
  ::close(fd);
  return got;
}

// A whole 200 answer with one prediction, read raw.
bool whole_answer(const std::string& raw) {
  const size_t body = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return false;
  const json j = json::parse(raw.substr(body + 4), nullptr, false);
  return !j.is_discarded() && j["predictions"].size() == 1;
}

// Clients posting one image each; true when every answer came back whole.
struct Clients {
  std::vector<std::thread> threads;
  std::atomic<int> answered{0}, refused{0}, broken{0};
  void start(int port, int n, const std::string& image) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this, port, image] {
        httplib::Client cli("127.0.0.1", port);
        const auto r = cli.Post("/v1/predict", image, "image/png");
        if (!r) {
          ++refused;  // not connected or nothing read: never half an answer
        } else if (r->status == 200 && json::parse(r->body)["predictions"].size() == 1) {
          ++answered;
        } else {
          ++broken;
        }
      });
  }
  void join() {
    for (auto& t : threads) t.join();
  }
};

void ServeTest::ShutdownAnswersEveryRequestInFlight() {
  edge::serve::ServeOptions o;
  o.max_wait_ms = 400;  // requests wait in the batcher while stop() is called
  o.max_batch = 64;
  auto server = start(o);
  Clients clients;
  clients.start(server->port(), 12, read_file(image_files()[0]));
  // One request still being read when stop() comes: the batch waits for it, so the 12 are
  // queued in the batcher then, and all 13 must be answered.
  std::string slow;
  std::thread slow_client([&] { slow = slow_post(server->port(), read_file(image_files()[2]), 300ms); });
  std::this_thread::sleep_for(150ms);
  server->stop();
  clients.join();
  slow_client.join();
  EXPECT_TRUE(whole_answer(slow)) << slow;
  EXPECT_EQ(clients.answered, 12);
  EXPECT_EQ(clients.broken, 0);
  EXPECT_EQ(server->metrics().requests("/v1/predict", 200), 13);
  EXPECT_FALSE(httplib::Client("127.0.0.1", server->port()).Get("/v1/health")) << "still accepting after stop()";
}

void ServeTest::SigtermStopsTheBinaryAfterAnsweringWhatIsInFlight() {
  const fs::path out = dir_->path() / "serve.out", err = dir_->path() / "serve.err";
  std::vector<std::string> argv{EDGE_BINARY, "serve", "--checkpoint", run_.string(), "--port", "0",
                                "--max_wait_ms", "400", "--max_batch", "64"};
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  int port = 0;
  const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::smatch m;
    const std::string text = read_file(out);
    if (std::regex_search(text, m, listening)) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(port, 0) << read_file(out) << read_file(err);
  Clients clients;
  clients.start(port, 6, read_file(image_files()[1]));
  std::string slow;
  std::thread slow_client([&] { slow = slow_post(port, read_file(image_files()[3]), 300ms); });
  std::this_thread::sleep_for(150ms);
  ::kill(pid, SIGTERM);
  clients.join();
  slow_client.join();
  EXPECT_TRUE(whole_answer(slow)) << slow;
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << read_file(err);
  EXPECT_EQ(clients.answered, 6);
  EXPECT_EQ(clients.broken, 0);
  EXPECT_NE(read_file(out).find("7 predict requests answered"), std::string::npos) << read_file(out);
}

TEST_F(ServeTest, AnswersAsEdgePredictDoesAlsoUnderConcurrentClientsAndDescribesItself) {
  AnswersAsEdgePredictDoesForTheSameFiles();
  AnswersEveryClientItsOwnImagesUnderConcurrency();
  DescribesTheModelHealthAndMetrics();
}

TEST_F(ServeTest, RefusesBadRequestsAndSlowConnectionsAndKeepsServing) {
  RefusesEveryBadRequestWithAJsonErrorAndKeepsServing();
  ClosesSlowAndAbandonedConnectionsWhileServingOthers();
}

TEST_F(ServeTest, ShutdownAnswersEveryRequestInFlightInProcessAndOnSigterm) {
  ShutdownAnswersEveryRequestInFlight();
  SigtermStopsTheBinaryAfterAnsweringWhatIsInFlight();
}

}  // namespace
