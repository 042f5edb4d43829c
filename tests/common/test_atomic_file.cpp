// Atomic writes under failure: a full disk, a file-size limit, a library's exception. The
// target keeps its old content, no temporary file stays behind, and the error is one line
// naming the target and the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include <c10/util/Exception.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

std::string message_of(const std::function<void()>& f) { return edge::test::error_message<edge::DataError>(f); }

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, AFullDiskIsOneLineNamingTheFileAndTheReason) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const std::string msg = message_of([] { edge::write_file_bytes("/dev/full", "abc", 3); });
  EXPECT_NE(msg.find("/dev/full"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
}

TEST(AtomicFile, AWriteCutShortLeavesTheOldFileAndNoTemporary) {
  edge::test::TempDir dir;
  const fs::path target = dir.path() / "last.ckpt";
  edge::write_text_atomically(target, "old");
  std::string msg;
  {
    edge::test::FileSizeLimit limit(4096);
    msg = message_of([&] { edge::write_bytes_atomically(target, std::string(1 << 20, 'x')); });
  }
  EXPECT_NE(msg.find(target.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(edge::read_text_file(target), "old");
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(AtomicFile, ALibraryErrorBecomesOneLineNamingTheTarget) {
  edge::test::TempDir dir;
  const fs::path target = dir.path() / "model.pt";
  const std::string msg = message_of([&] {
    edge::write_atomically(target, [](const fs::path& tmp) {
      edge::write_text_atomically(tmp, "partial");
      TORCH_CHECK(false, "unexpected pos 123");
    });
  });
  EXPECT_NE(msg.find(target.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected pos 123"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(files_in(dir.path()), 0u);
}

}  // namespace
