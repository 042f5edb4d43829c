// The .mat structure check against scipy's own test files (MATLAB-written, many versions and
// byte orders; Debian's python3-scipy) and against files that declare more than they hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "data/mat_structure.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using edge::data::detail::check_mat_structure;
using edge::test::error_message;
using Bytes = std::vector<uint8_t>;

void put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A v5 data element: tag, bytes, padding to 8.
Bytes element(uint32_t type, const Bytes& data) {
  Bytes b;
  put32(b, type);
  put32(b, static_cast<uint32_t>(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  b.resize((b.size() + 7) & ~size_t{7}, 0);
  return b;
}

// A 1x1 miMATRIX of `mat_class` whose contents after the name are `rest`.
Bytes matrix(uint32_t mat_class, const Bytes& rest) {
  Bytes flags, dims, body;
  put32(flags, mat_class);
  put32(flags, 0);
  put32(dims, 1);
  put32(dims, 1);
  for (const Bytes& part : {element(6, flags), element(5, dims), element(1, {}), rest})
    body.insert(body.end(), part.begin(), part.end());
  return element(14, body);
}

// A 1x1 double nested inside `depth` 1x1 cells.
Bytes nested_cells(int depth) {
  Bytes value(8, 0);
  Bytes m = matrix(6, element(9, value));
  for (int i = 0; i < depth; ++i) m = matrix(1, m);
  return m;
}

Bytes v5_file(const Bytes& elements) {
  Bytes b(116, ' ');
  b.resize(124, 0);  // subsystem offset
  b.insert(b.end(), {0x00, 0x01, 'I', 'M'});  // version 0x0100, little-endian
  b.insert(b.end(), elements.begin(), elements.end());
  return b;
}

fs::path write(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

// A zlib stream holding `data` in one stored (uncompressed) deflate block.
Bytes zlib_stored(const Bytes& data) {
  Bytes z = {0x78, 0x01, 0x01};
  const auto n = static_cast<uint16_t>(data.size());
  for (uint16_t v : {n, static_cast<uint16_t>(~n)}) {
    z.push_back(static_cast<uint8_t>(v));
    z.push_back(static_cast<uint8_t>(v >> 8));
  }
  z.insert(z.end(), data.begin(), data.end());
  uint32_t a = 1, s = 0;  // Adler-32 (RFC 1950)
  for (uint8_t c : data) {
    a = (a + c) % 65521;
    s = (s + a) % 65521;
  }
  for (int shift : {24, 16, 8, 0}) z.push_back(static_cast<uint8_t>(((s << 16) | a) >> shift));
  return z;
}

// scipy's MATLAB-written v7.3 file (HDF5 behind a 512-byte user block, superblock version 0).
fs::path scipys_v73_file() {
  return "/usr/lib/python3/dist-packages/scipy/io/matlab/tests/data/testhdf5_7.4_GLNX86.mat";
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A partial download of a v7.3 file: HDF5 printed ~35 lines of diagnostics before the reader's
// error, which then blamed the variable. Now one line names the file and the missing bytes.
TEST(MatStructure, AV73FileShorterThanItsSuperblockDeclaresIsRefused) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  if (!fs::is_regular_file(scipys_v73_file())) GTEST_SKIP() << "python3-scipy's test data not installed";
  edge::test::TempDir dir;
  Bytes b = read_bytes(scipys_v73_file());
  ASSERT_EQ(b.size(), 4168u);
  b.resize(3000);
  const auto cut = write(dir.path() / "test_32x32.mat", b);
  testing::internal::CaptureStderr();
  const auto msg = error_message([&] { edge::data::read_svhn_mat(cut, "svhn"); });
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_NE(msg.find("test_32x32.mat: MATLAB v7.3 (HDF5) file declares 4168 bytes but holds 3000"), std::string::npos)
      << msg;
  EXPECT_EQ(printed, "");
  b.resize(540);  // the superblock itself cut short (28 of its 96 bytes)
  EXPECT_NE(error_message([&] { check_mat_structure(write(dir.path() / "short.mat", b)); })
                .find("short.mat: HDF5 superblock (MATLAB v7.3) shorter than its fields"),
            std::string::npos);
  b.resize(512);
  EXPECT_NE(error_message([&] { check_mat_structure(write(dir.path() / "bare.mat", b)); })
                .find("bare.mat: MATLAB v7.3 header but no HDF5 superblock at byte 512"),
            std::string::npos);
}

// Damage past the superblock is HDF5's to find; its diagnostics must not reach stderr.
TEST(MatStructure, AV73FileDamagedInsideGivesOneErrorAndNoHdf5Diagnostics) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  if (!fs::is_regular_file(scipys_v73_file())) GTEST_SKIP() << "python3-scipy's test data not installed";
  edge::test::TempDir dir;
  Bytes b = read_bytes(scipys_v73_file());
  std::fill(b.begin() + 700, b.end(), uint8_t{0xA5});  // the root group and everything after it
  const auto bad = write(dir.path() / "test_32x32.mat", b);
  testing::internal::CaptureStderr();
  const auto msg = error_message([&] { edge::data::read_svhn_mat(bad, "svhn"); });
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_NE(msg.find("test_32x32.mat"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(printed.find("HDF5"), std::string::npos) << printed;
}

TEST(MatStructure, ScipysTestFilesPassExceptTheOnesScipyRefuses) {
  const fs::path dir = "/usr/lib/python3/dist-packages/scipy/io/matlab/tests/data";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "python3-scipy's test data not installed";
  // scipy's tests assert that loadmat raises on these (test_pathological.test_malformed1,
  // test_mio.test_corrupted_data, test_mio.test_miuint32_compromise).
  const std::set<std::string> refused = {"malformed1.mat", "corrupted_zlib_data.mat", "corrupted_zlib_checksum.mat",
                                         "bad_miuint32.mat"};
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".mat") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    const std::string msg = error_message<edge::DataError>([&] { check_mat_structure(entry.path()); });
    if (refused.count(name)) {
      EXPECT_NE(msg.find(name + ": variable "), std::string::npos) << msg;
    } else {
      EXPECT_EQ(msg, "<no error>") << name;
    }
  }
  EXPECT_GE(files, 100);
}

// Found by the mat fuzzer: a 461-byte file whose variable name declares 4,294,901,766 bytes;
// matio allocated that (libFuzzer's out-of-memory) before it found the file too short.
TEST(MatStructure, ANameDeclaringMoreThanTheFileIsRefusedBeforeMatioAllocates) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                       "oom-797c3175775de620bfd5069739b8637d61600d5d";
  const auto msg = error_message([&] { edge::data::read_voc_mat(finding); });
  EXPECT_NE(msg.find("oom-797c3175775de620bfd5069739b8637d61600d5d: variable 1 (at byte 128) is corrupt: its name "
                     "element declares 4294901766 bytes but 136 are left"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// Found by the mat fuzzer after the check above landed: a function handle (class 16), which
// matio reads as a cell array, declaring 956,213,874 values in 176 bytes; matio allocated 7.6 GB.
TEST(MatStructure, AFunctionHandleDeclaringMoreValuesThanItHoldsIsRefused) {
  const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                       "oom-15756981f0974b4813e21dfb057c23af5e2bf034";
  const auto msg = error_message([&] { check_mat_structure(finding); });
  EXPECT_NE(msg.find("oom-15756981f0974b4813e21dfb057c23af5e2bf034: variable 1 (at byte 128) is corrupt: it declares "
                     "956213874 cells or fields but holds 128 bytes"),
            std::string::npos)
      << msg;
}

// Found by the mat fuzzer: a variable whose miMATRIX tag declares 0 bytes; matio read the next
// bytes as its flags and dimensions (-1 x 199 uint32) and asked for 3.4 TB.
TEST(MatStructure, AnEmptyTopLevelMatrixIsRefused) {
  const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                       "crash-0b8662d1236e3835c6dcd2d7d31585950cc9bcca";
  const auto msg = error_message([&] { check_mat_structure(finding); });
  EXPECT_NE(msg.find("crash-0b8662d1236e3835c6dcd2d7d31585950cc9bcca: variable 1 (at byte 128) is corrupt: its array "
                     "flags element is missing (0 bytes left)"),
            std::string::npos)
      << msg;
}

TEST(MatStructure, CellsNestedDeeperThan32AreRefused) {
  edge::test::TempDir dir;
  EXPECT_EQ(error_message([&] { check_mat_structure(write(dir.path() / "ok.mat", v5_file(nested_cells(31)))); }),
            "<no error>");
  const auto msg = error_message([&] { check_mat_structure(write(dir.path() / "deep.mat", v5_file(nested_cells(40)))); });
  EXPECT_NE(msg.find("deep.mat: variable 1 (at byte 128) is corrupt: its cells or fields nest more than 32 deep"),
            std::string::npos)
      << msg;
}

TEST(MatStructure, DimensionsBeyondTheDataAreRefused) {
  edge::test::TempDir dir;
  Bytes flags, dims, body;
  put32(flags, 6);  // double
  put32(flags, 0);
  put32(dims, 100000);
  put32(dims, 100000);
  for (const Bytes& part : {element(6, flags), element(5, dims), element(1, {'x'}), element(9, Bytes(8, 0))})
    body.insert(body.end(), part.begin(), part.end());
  const auto msg = error_message([&] { check_mat_structure(write(dir.path() / "dims.mat", v5_file(element(14, body)))); });
  EXPECT_NE(msg.find("dims.mat: variable 1 (at byte 128) is corrupt: it declares 10000000000 values but its data "
                     "holds 8 bytes of 8-byte values"),
            std::string::npos)
      << msg;
}

// A miCOMPRESSED element (not padded: its tag holds the stream's exact size).
Bytes compressed(const Bytes& contents) {
  const Bytes stream = zlib_stored(contents);
  Bytes b;
  put32(b, 15);
  put32(b, static_cast<uint32_t>(stream.size()));
  b.insert(b.end(), stream.begin(), stream.end());
  return b;
}

TEST(MatStructure, ACompressedVariableDeclaringMoreThanDeflateCanExpandToIsRefused) {
  edge::test::TempDir dir;
  EXPECT_EQ(error_message([&] { check_mat_structure(write(dir.path() / "ok.mat", v5_file(compressed(nested_cells(1))))); }),
            "<no error>");
  Bytes tag;  // a miMATRIX tag declaring 2 GiB, in a 19-byte stream
  put32(tag, 14);
  put32(tag, 0x7fffffff);
  const auto msg = error_message([&] { check_mat_structure(write(dir.path() / "zip.mat", v5_file(compressed(tag)))); });
  EXPECT_NE(msg.find("zip.mat: variable 1 (at byte 128) is corrupt: its 19 compressed bytes declare 2147483647 bytes, "
                     "more than deflate can expand them to"),
            std::string::npos)
      << msg;
}

TEST(MatStructure, AV4NameLongerThanTheFileIsRefused) {
  edge::test::TempDir dir;
  Bytes b;
  for (uint32_t v : {0u, 1u, 1u, 0u, 0x7fffffffu}) put32(b, v);  // double, 1x1, real, name length
  b.insert(b.end(), {'x', 0});
  b.resize(b.size() + 8, 0);
  const auto msg = error_message([&] { check_mat_structure(write(dir.path() / "v4.mat", b)); });
  EXPECT_NE(msg.find("v4.mat: MATLAB v4 variable 1 (at byte 0) declares a 1x1 matrix and a 2147483647-byte name"),
            std::string::npos)
      << msg;
}

}  // namespace
