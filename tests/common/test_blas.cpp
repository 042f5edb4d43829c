// LibTorch must run on OpenBLAS: Debian's default libblas.so.3 is the reference BLAS,
// ~30x slower, and silently makes every linear layer crawl.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

TEST(Blas, OpenBlasIsTheActiveBlas) {
  // Force the BLAS library to be used (and so loaded) by a float32 matmul.
  const auto a = torch::randn({64, 64});
  (void)torch::mm(a, a).sum().item<float>();
  std::ifstream maps("/proc/self/maps");
  std::string line, blas_path;
  while (std::getline(maps, line)) {
    const auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    const std::string path = line.substr(pos);
    if (path.find("libblas.so") != std::string::npos) blas_path = path;
  }
  ASSERT_FALSE(blas_path.empty()) << "libtorch did not load any libblas.so";
  const std::string real = std::filesystem::canonical(blas_path).string();
  EXPECT_NE(real.find("openblas"), std::string::npos)
      << "SLOW REFERENCE BLAS ACTIVE: libtorch uses " << real
      << " (expected OpenBLAS). Fix: apt-get install libopenblas0-pthread (or "
         "update-alternatives --config libblas.so.3-x86_64-linux-gnu).";
}

}  // namespace
