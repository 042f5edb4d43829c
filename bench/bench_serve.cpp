// bench_serve: `edge serve` under load on loopback, against `edge predict` run once per image
// and against the minimal Python server a PyTorch user would write (bench/serve_peer.py:
// http.server + the same model in eager PyTorch, batch 1), all in one run on the same images.
//
// Each server runs in its own process; for each number of concurrent clients (keep-alive
// connections where the server keeps them, one request in flight per client) a fixed number
// of single-image POSTs is sent, stopping early at the time limit. Reported: answered
// requests/s, p50/p99 latency, errors. `edge predict` is timed per process (load the model,
// one image, exit), as a script would call it per image.
//
//   bench_serve [--checkpoint RUN] [--requests 400] [--time_limit 20] [--clients 1,8,32]
//               [--predict_runs 10] [--python /usr/bin/python3 | --no-python]
// Without --checkpoint a small fashion-lt run is trained and calibrated first (~10 s).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include "edge/data/fashion_lt.h"
#include "edge/train/train_config.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  fs::path checkpoint;
  int64_t requests = 400;
  double time_limit_s = 20;
  std::vector<int> clients = {1, 8, 32};
  int64_t predict_runs = 10;
  std::string python = "/usr/bin/python3";
  bool no_python = false;
  int64_t threads = 0;
};

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

pid_t spawn(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err) {
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run_or_throw(const std::vector<std::string>& argv, const fs::path& log) {
  const int code = wait_exit(spawn(argv, log, log.string() + ".err"));
  if (code != 0)
    throw std::runtime_error(fmt::format("{} {} failed ({}): {}", argv[0], argv[1], code,
                                         read_file(log.string() + ".err")));
}

// A server process and the port it printed ("listening on http://127.0.0.1:PORT").
struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  ServerProcess(const std::vector<std::string>& argv, const fs::path& log) {
    pid = spawn(argv, log, log.string() + ".err");
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 1200 && port == 0; ++i) {
      std::smatch m;
      const std::string text = read_file(log);
      if (std::regex_search(text, m, listening)) port = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (port == 0) {
      ::kill(pid, SIGKILL);
      wait_exit(pid);
      throw std::runtime_error(fmt::format("{} did not start: {}", argv[0], read_file(log.string() + ".err")));
    }
  }
  ~ServerProcess() {
    ::kill(pid, SIGTERM);
    wait_exit(pid);
  }
};

// The bench's own run: a few hundred fashion-lt images, two epochs, calibrated.
fs::path prepare_run(const fs::path& work) {
  const fs::path run = work / "run";
  run_or_throw({EDGE_BINARY, "train", "--score", "joint", "--n_epoch", "2", "--start_epoch", "1", "--id_train", "512",
                "--id_val", "200", "--id_test", "64", "--oe_train", "512", "--ood_test", "64", "--batch_size", "64",
                "--oe_batch_size", "64", "--k", "16", "--out", run.string()},
               work / "train.log");
  run_or_throw({EDGE_BINARY, "calibrate", "--checkpoint", run.string()}, work / "calibrate.log");
  return run;
}

// The run's test images (ID and noise OOD) as PNG files, as a client would send them.
std::vector<fs::path> write_images(const fs::path& run, const fs::path& dir) {
  fs::create_directories(dir);
  edge::data::FashionLtParts parts;
  parts.id_train = parts.id_val = parts.oe_train = false;
  parts.ood = {"noise"};
  const auto bench = edge::data::build_fashion_lt(edge::train::load_run_config(run).data, parts);
  std::vector<fs::path> files;
  for (const auto& [set, stem] : {std::pair{&bench.id_test, "id"}, {&bench.ood_tests[0], "noise"}})
    for (int64_t i = 0; i < std::min<int64_t>(32, set->size()); ++i) {
      const torch::Tensor img = set->images->load(i).contiguous();
      files.push_back(dir / fmt::format("{}_{:02}.png", stem, i));
      stbi_write_png(files.back().c_str(), int(img.size(2)), int(img.size(1)), 1, img.data_ptr<uint8_t>(),
                     int(img.size(2)));
    }
  return files;
}

struct Load {
  int64_t answered = 0, errors = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v[size_t(std::min<double>(double(v.size()) - 1, std::ceil(q * double(v.size())) - 1))];
}

// `clients` threads, one request in flight each, until `requests` are sent or time is up.
Load load(int port, const std::vector<std::string>& images, int clients, const Options& o) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  Load out;
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(o.time_limit_s);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_read_timeout(30, 0);
      cli.set_tcp_nodelay(true);  // as curl does: a body written after its headers must not wait for an ACK
      std::vector<double> mine;
      int64_t errors = 0;
      for (int64_t i; (i = next++) < o.requests && Clock::now() < deadline;) {
        const auto s = Clock::now();
        const auto r = cli.Post("/v1/predict", images[size_t(i) % images.size()], "image/png");
        if (r && r->status == 200) mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
        else ++errors;
      }
      std::lock_guard<std::mutex> lock(mu);
      out.latencies_ms.insert(out.latencies_ms.end(), mine.begin(), mine.end());
      out.errors += errors;
    });
  for (auto& t : threads) t.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.answered = int64_t(out.latencies_ms.size());
  return out;
}

void print_row(const std::string& side, int clients, const Load& l) {
  std::cout << fmt::format("| {:<28} | {:>7} | {:>8} | {:>6} | {:>9.1f} | {:>8.2f} | {:>8.2f} |", side, clients,
                           l.answered, l.errors, double(l.answered) / l.seconds, percentile(l.latencies_ms, 0.5),
                           percentile(l.latencies_ms, 0.99))
            << std::endl;
}

// `edge predict` once per image, sequentially: what a script without the service pays.
Load predict_per_image(const fs::path& run, const std::vector<fs::path>& files, const fs::path& work, int64_t n) {
  Load out;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const auto s = Clock::now();
    const int code = wait_exit(spawn({EDGE_BINARY, "predict", "--checkpoint", run.string(), "--format", "jsonl",
                                      files[size_t(i) % files.size()].string()},
                                     work / "predict.out", work / "predict.err"));
    if (code == 0) out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    else ++out.errors;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.answered = int64_t(out.latencies_ms.size());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("edge serve under load, against edge predict per image and a minimal Python server");
  app.add_option("--checkpoint", o.checkpoint, "a calibrated run (default: train a small one)");
  app.add_option("--requests", o.requests, "requests per server and client count")->capture_default_str();
  app.add_option("--time_limit", o.time_limit_s, "seconds per server and client count, at most")->capture_default_str();
  app.add_option("--clients", o.clients, "concurrent clients")->delimiter(',')->capture_default_str();
  app.add_option("--predict_runs", o.predict_runs, "edge predict processes (one image each)")->capture_default_str();
  app.add_option("--threads", o.threads, "intra-op threads of both servers (0 = the run's setting)");
  app.add_option("--python", o.python, "Python with torch for bench/serve_peer.py")->capture_default_str();
  app.add_flag("--no-python", o.no_python, "leave the Python server out");
  CLI11_PARSE(app, argc, argv);
  try {
    const fs::path work = fs::temp_directory_path() / fmt::format("edge_bench_serve_{}", ::getpid());
    fs::create_directories(work);
    const fs::path run = o.checkpoint.empty() ? prepare_run(work) : o.checkpoint;
    const std::vector<fs::path> files = write_images(run, work / "images");
    std::vector<std::string> images;
    for (const auto& f : files) images.push_back(read_file(f));
    std::cout << fmt::format("bench_serve: {} images ({} bytes each on average), {} requests or {} s per row, {} cores\n",
                             images.size(), read_file(files[0]).size(), o.requests, o.time_limit_s,
                             std::thread::hardware_concurrency());
    std::cout << "| server                       | clients | answered | errors | answers/s |  p50 ms  |  p99 ms  |\n"
                 "|------------------------------|---------|----------|--------|-----------|----------|----------|"
              << std::endl;
    std::vector<std::pair<std::string, std::vector<std::string>>> servers = {
        {"edge serve", {EDGE_BINARY, "serve", "--checkpoint", run.string(), "--port", "0", "--threads",
                        std::to_string(o.threads)}}};
    if (!o.no_python)
      servers.push_back({"python http.server + torch", {o.python, EDGE_BENCH_DIR "/serve_peer.py", "--checkpoint",
                                                         run.string(), "--threads", std::to_string(o.threads)}});
    std::map<std::string, double> best;
    for (const auto& [name, argv_] : servers) {
      // A log of its own: a shared one could still show the previous server's port line.
      ServerProcess server(argv_, work / (std::to_string(best.size()) + "_server.log"));
      load(server.port, images, 1, Options{o.checkpoint, 5, o.time_limit_s});  // warm-up
      for (int c : o.clients) {
        const Load l = load(server.port, images, c, o);
        print_row(name, c, l);
        best[name] = std::max(best[name], double(l.answered) / l.seconds);
      }
    }
    const Load p = predict_per_image(run, files, work, o.predict_runs);
    print_row("edge predict, 1 process/image", 1, p);
    std::cout << fmt::format("serve_vs_predict={:.1f}", best["edge serve"] / (double(p.answered) / p.seconds));
    if (!o.no_python) std::cout << fmt::format(" serve_vs_python={:.2f}", best["edge serve"] / best["python http.server + torch"]);
    std::cout << std::endl;
    fs::remove_all(work);
  } catch (const std::exception& e) {
    std::cerr << "bench_serve: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
