// The JPEG and PNG decoders against live Pillow (Debian's python3-pil, which decodes with the
// same libjpeg-turbo and zlib): every file Pillow writes in the common encodings must decode
// to Image.open(f).convert("RGB")'s pixels exactly. One documented deviation: 16-bit gray PNGs
// keep the high byte of each sample (libpng's strip_16, as for 16-bit colour), where Pillow
// opens them as 32-bit integers and clips every value above 255 to white.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

#include "edge/common/error.h"
#include "edge/data/image_io.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// Writes test images in every encoding below to sys.argv[1], with the pixels Pillow decodes
// from each (HWC uint8, raw), and prints a manifest: [{"file", "expected", "h", "w"}].
constexpr const char* kWriterScript = R"PY(
import json, struct, sys, zlib
import numpy as np
from PIL import Image

out = sys.argv[1]
rng = np.random.default_rng(7)
h, w = 61, 47  # odd sides: chroma subsampling and interlace passes have ragged edges
y, x = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
base = np.stack([127 + 90 * np.sin(8 * x + 5 * y * y + c) for c in range(3)], axis=-1)
rgb = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
manifest = []

def expect(name, pixels=None):
    f = f"{out}/{name}"
    if pixels is None:
        pixels = np.asarray(Image.open(f).convert("RGB"))
    np.ascontiguousarray(pixels, dtype=np.uint8).tofile(f + ".rgb")
    manifest.append({"file": f, "expected": f + ".rgb", "h": pixels.shape[0], "w": pixels.shape[1]})

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

# A PNG Pillow cannot write: 16-bit samples, or Adam7 interlace, from rows of samples.
def write_png(name, samples, color_type, depth, interlace=False):
    hh, ww = samples.shape[:2]
    flat = samples.reshape(hh, ww, -1)
    dtype = ">u2" if depth == 16 else "u1"
    def rows(img):
        return b"".join(b"\0" + img[r].astype(dtype).tobytes() for r in range(img.shape[0]))
    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(rows(flat[ys::sy, xs::sx]) for xs, ys, sx, sy in passes if flat[ys::sy, xs::sx].size)
    else:
        raw = rows(flat)
    ihdr = struct.pack(">IIBBBBB", ww, hh, depth, color_type, 0, 0, 1 if interlace else 0)
    with open(f"{out}/{name}", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) +
                png_chunk(b"IEND", b""))

im = Image.fromarray(rgb)
for name, kw in [("yuv444.jpg", dict(subsampling=0)), ("yuv422.jpg", dict(subsampling=1)),
                 ("yuv420.jpg", dict(subsampling=2)), ("progressive.jpg", dict(progressive=True)),
                 ("optimized_q50.jpg", dict(optimize=True, quality=50))]:
    im.save(f"{out}/{name}", quality=kw.pop("quality", 90), **kw)
    expect(name)
im.convert("L").save(f"{out}/gray.jpg", quality=90)
expect("gray.jpg")

im.save(f"{out}/rgb.png"); expect("rgb.png")
Image.fromarray(np.dstack([rgb, alpha])).save(f"{out}/rgba.png"); expect("rgba.png")
Image.fromarray(np.dstack([rgb[..., 0], alpha]), "LA").save(f"{out}/gray_alpha.png"); expect("gray_alpha.png")
im.convert("L").save(f"{out}/gray.png"); expect("gray.png")
im.convert("1").save(f"{out}/bilevel.png"); expect("bilevel.png")
pal = im.quantize(256)
pal.save(f"{out}/palette.png"); expect("palette.png")
im.quantize(16).save(f"{out}/palette4bit.png", bits=4); expect("palette4bit.png")
pal.save(f"{out}/palette_trns.png", transparency=3); expect("palette_trns.png")
write_png("rgb16.png", rgb.astype(np.uint16) * 257 + rng.integers(0, 257, rgb.shape), 2, 16); expect("rgb16.png")
write_png("interlaced.png", rgb, 2, 8, interlace=True); expect("interlaced.png")
write_png("rgba_interlaced.png", np.dstack([rgb, alpha]), 6, 8, interlace=True); expect("rgba_interlaced.png")
gray16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
write_png("gray16.png", gray16, 0, 16)
expect("gray16.png", np.repeat((gray16 >> 8).astype(np.uint8)[..., None], 3, axis=-1))
print(json.dumps(manifest))
)PY";

TEST(DecodersVsPillow, EveryCommonJpegAndPngEncodingDecodesToPillowsPixels) {
  if (!edge::test::python_has_modules("numpy,PIL")) GTEST_SKIP() << "Debian's python3 with numpy and Pillow absent";
  edge::test::TempDir dir;
  const fs::path script = dir.path() / "write_images.py";
  std::ofstream(script) << kWriterScript;
  const std::string out = edge::test::run_python("import runpy, sys\nsys.argv = ['w', '" + dir.path().string() +
                                                 "']\nrunpy.run_path('" + script.string() + "', run_name='__main__')\n");
  const auto manifest = nlohmann::json::parse(out.substr(out.rfind("\n[") == std::string::npos ? 0 : out.rfind("\n[")));
  ASSERT_EQ(manifest.size(), 18u);
  for (const auto& entry : manifest) {
    const fs::path file = entry.at("file").get<std::string>();
    const int64_t h = entry.at("h"), w = entry.at("w");
    torch::Tensor expected = torch::empty({h, w, 3}, torch::kUInt8);
    std::ifstream(entry.at("expected").get<std::string>(), std::ios::binary)
        .read(reinterpret_cast<char*>(expected.data_ptr<uint8_t>()), h * w * 3);
    const torch::Tensor got = edge::data::load_rgb_image(file).permute({1, 2, 0});
    ASSERT_EQ(got.sizes(), expected.sizes()) << file.filename();
    const int64_t differing = got.ne(expected).any(2).sum().item<int64_t>();
    EXPECT_EQ(differing, 0) << file.filename() << ": pixels differing from Pillow's; largest difference "
                            << (got.to(torch::kInt32) - expected.to(torch::kInt32)).abs().max().item<int>();
  }
}

}  // namespace
