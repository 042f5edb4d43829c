#!/usr/bin/python3
"""Writes the small dataset fixtures of tests/fixtures/datasets (run with Debian's python3:
PIL, numpy and scipy). Deterministic: rerunning rewrites identical files (PNG/BMP/mat; JPEG
bytes depend on the libjpeg version, the tests only check JPEG sizes).

Pixel values of the lossless images follow formulas the tests recompute:
  folder/a.png      RGB 4x3,  (y, x, c) -> 10 * (y * 4 + x) + c
  folder/sub/deeper/c.bmp  RGB 2x2, (y, x, c) -> 60 * (y * 2 + x) + 7 * c + 1
  svhn X[h, w, c, n] = (h * 7 + w * 3 + c * 50 + n * 11) % 256  (32x32x3x5)
  mnist t10k: image n, (y, x) -> (n * 31 + y * 5 + x) % 256     (3 images 28x28, .gz)
  mnist train: same formula with n + 100                         (2 images, raw)
The NUS-WIDE val/test order is computed with numpy's RandomState exactly as the reference
(np.random.seed(999); np.random.shuffle) and stored in nus-wide/expected_split.json.
"""
import gzip
import json
import os
import shutil
import struct

import numpy as np
import scipy.io
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "datasets")


def path(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def tiny_jpeg(rel, seed):
    rng = np.random.RandomState(seed)
    arr = rng.randint(0, 256, size=(6, 8, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path(rel), quality=60)


def write_idx(rel, images, gz):
    data = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", *images.shape) + images.tobytes()
    if gz:
        with gzip.GzipFile(path(rel), "wb", mtime=0) as f:
            f.write(data)
    else:
        with open(path(rel), "wb") as f:
            f.write(data)


def folders():
    a = np.array([[[10 * (y * 4 + x) + c for c in range(3)] for x in range(4)] for y in range(3)], dtype=np.uint8)
    Image.fromarray(a).save(path("folder", "a.png"))
    tiny_jpeg(os.path.join("folder", "sub", "b.JPG"), 1)
    c = np.array([[[60 * (y * 2 + x) + 7 * ch + 1 for ch in range(3)] for x in range(2)] for y in range(2)],
                 dtype=np.uint8)
    Image.fromarray(c).save(path("folder", "sub", "deeper", "c.bmp"))
    with open(path("folder", "sub", "notes.txt"), "w") as f:
        f.write("not an image: the folder reader skips it\n")
    with open(path("empty", "README.md"), "w") as f:
        f.write("A folder without images (the image-folder reader must reject it).\n")
    # Corrupt set: one good image, one that is not an image, one truncated PNG.
    Image.fromarray(a).save(path("corrupt", "good.png"))
    with open(path("corrupt", "bad.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    big = np.random.RandomState(5).randint(0, 256, size=(16, 16, 3), dtype=np.uint8)
    Image.fromarray(big).save(path("corrupt", "truncated.png"))
    with open(path("corrupt", "truncated.png"), "rb") as f:
        raw = f.read()
    with open(path("corrupt", "truncated.png"), "wb") as f:
        f.write(raw[: len(raw) // 2])


VOC_OBJECTS = {  # id -> [(class, difficult)]
    "2008_000001": [("dog", 0), ("person", 1)],
    "2008_000002": [("aeroplane", 0), ("aeroplane", 0)],
    "2008_000003": [("tvmonitor", 0), ("person", 0)],
}


def voc():
    base = os.path.join("voc", "VOCdevkit", "VOC2012")
    for i, (img_id, objs) in enumerate(sorted(VOC_OBJECTS.items())):
        xml = ["<annotation>", f"  <filename>{img_id}.jpg</filename>"]
        for name, difficult in objs:
            xml += ["  <object>", f"    <name>{name}</name>", f"    <difficult>{difficult}</difficult>"]
            if name == "person":  # person layout parts carry their own <name>
                xml += ["    <part>", "      <name>head</name>", "    </part>"]
            xml += ["  </object>"]
        xml.append("</annotation>")
        with open(path(base, "Annotations", img_id + ".xml"), "w") as f:
            f.write("\n".join(xml) + "\n")
        tiny_jpeg(os.path.join(base, "JPEGImages", img_id + ".jpg"), 10 + i)
    tiny_jpeg(os.path.join(base, "JPEGImages", "2008_000004.jpg"), 20)  # test image, no annotation
    lists = {"train": ["2008_000001", "2008_000003"], "val": ["2008_000002"], "test": ["2008_000004"]}
    for split, ids in lists.items():
        with open(path(base, "ImageSets", "Main", split + ".txt"), "w") as f:
            f.write("\n".join(ids) + "\n")
    # The reference's voc12-*.mat lists: Imlist char matrix (blank padded), labels uint8.
    classes = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor"]
    def entry(img_id):
        return "./../voc/VOCdevkit/VOC2012/JPEGImages/%s.jpg" % img_id
    for split, ids in lists.items():
        names = [entry(i) for i in ids]
        width = max(len(n) for n in names) + 4
        data = {"Imlist": np.array([n.ljust(width) for n in names])}
        if split != "test":
            lab = np.zeros((len(ids), 20), dtype=np.uint8)
            for r, img_id in enumerate(ids):
                for name, _ in VOC_OBJECTS[img_id]:
                    lab[r, classes.index(name)] = 1
            data["labels"] = lab
        scipy.io.savemat(path("pascal", "voc12-%s.mat" % split), data)


def coco():
    cats = [{"supercategory": "animal", "id": 18, "name": "dog"},
            {"supercategory": "person", "id": 1, "name": "person"},
            {"supercategory": "vehicle", "id": 3, "name": "car"}]
    images = [{"id": 42, "file_name": "COCO_train2014_000000000042.jpg", "width": 8, "height": 6},
              {"id": 7, "file_name": "COCO_train2014_000000000007.jpg", "width": 8, "height": 6},
              {"id": 9, "file_name": "COCO_train2014_000000000009.jpg", "width": 8, "height": 6},
              {"id": 11, "file_name": "COCO_train2014_000000000011.jpg", "width": 8, "height": 6}]
    anns = [
        {"id": 1, "image_id": 42, "category_id": 18, "iscrowd": 0, "area": 3.5, "bbox": [1, 2, 3, 4],
         "segmentation": [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]},
        {"id": 2, "image_id": 42, "category_id": 1, "iscrowd": 1, "area": 10.0, "bbox": [0, 0, 2, 2],
         "segmentation": {"counts": [1, 2, 3], "size": [6, 8]}},
        {"id": 3, "image_id": 7, "category_id": 3, "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1],
         "segmentation": [[0.0, 0.0, 1.0, 1.0]]},
        {"id": 4, "image_id": 7, "category_id": 3, "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1],
         "segmentation": [[0.0, 0.0, 1.0, 1.0]]},
        {"id": 5, "image_id": 11, "category_id": 1, "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1],
         "segmentation": [[0.0, 0.0, 1.0, 1.0]]},
    ]  # image 9 has no annotation: dropped
    doc = {"info": {"description": "fixture", "year": 2014}, "licenses": [{"id": 1, "name": "x"}],
           "images": images, "annotations": anns, "categories": cats}
    with open(path("coco", "annotations", "instances_train2014.json"), "w") as f:
        json.dump(doc, f, indent=1)
    for i, im in enumerate(images):
        tiny_jpeg(os.path.join("coco", "train2014", im["file_name"]), 30 + i)
    val = {"images": [{"id": 5, "file_name": "COCO_val2014_000000000005.jpg"}],
           "annotations": [{"id": 9, "image_id": 5, "category_id": 18, "bbox": [0, 0, 1, 1]}], "categories": cats}
    with open(path("coco", "annotations", "instances_val2014.json"), "w") as f:
        json.dump(val, f)
    tiny_jpeg(os.path.join("coco", "val2014", "COCO_val2014_000000000005.jpg"), 40)
    tiny_jpeg(os.path.join("coco", "test2014", "COCO_test2014_000000000001.jpg"), 41)


def nus_wide():
    rng = np.random.RandomState(3)
    for part, n in (("train", 4), ("test", 9)):
        lab = (rng.rand(n, 81) < 0.05).astype(np.int64)
        lab[1] = 0  # a row without any concept: dropped
        lab[0, 0] = 1
        names = ["Flickr/%s_%d/%04d_%d.jpg" % (part, i % 2, i, 1000 + i) for i in range(n)]
        with open(path("nus-wide", "nus_wide_%s_imglist.txt" % part), "w") as f:
            f.write("".join("%s %d\n" % (p, i % 3) for i, p in enumerate(names)))
        np.savetxt(path("nus-wide", "nus_wide_%s_label.txt" % part), lab, fmt="%d")
        for i, p in enumerate(names):
            tiny_jpeg(os.path.join("nus-wide", p), 100 + i + (50 if part == "test" else 0))
        if part == "test":
            # The reference's partition, verbatim.
            select = np.where(np.sum(lab, axis=1) > 0)[0]
            gt = lab[select]
            imgs = [names[i] for i in select]
            np.random.seed(999)
            state = np.random.get_state()
            num = gt.shape[0] // 2
            np.random.shuffle(gt)
            np.random.set_state(state)
            np.random.shuffle(imgs)
            expected = {"val": {"images": imgs[:num], "labels": gt[:num].tolist()},
                        "test": {"images": imgs[num:], "labels": gt[num:].tolist()}}
            with open(path("nus-wide", "expected_split.json"), "w") as f:
                json.dump(expected, f)
    # A larger permutation check of the shuffle itself (1000 items).
    np.random.seed(999)
    perm = list(range(1000))
    np.random.shuffle(perm)
    with open(path("nus-wide", "numpy_shuffle_999_1000.json"), "w") as f:
        json.dump(perm, f)


def manifests():
    classes = ["cat", "dog", "traffic light"]
    with open(path("manifest", "classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    with open(path("manifest", "train.csv"), "w") as f:
        f.write("image,labels\n")
        f.write("img/m0.png,dog|cat\n")
        f.write("img/m1.png,traffic light\n")
        f.write("img/m2.png,\n")
    with open(path("manifest", "val.tsv"), "w") as f:
        f.write("path\tcat\tdog\ttraffic light\n")
        f.write("img/m1.png\t0\t1\t1\n")
        f.write("img/m2.png\t1\t0\t0\n")
    with open(path("manifest", "test.csv"), "w") as f:
        f.write("image,cat,dog,traffic light\n")
        f.write("img/m0.png,1,1,0\n")
    for i in range(3):
        arr = np.full((5, 5, 3), 40 * i + 10, dtype=np.uint8)
        Image.fromarray(arr).save(path("manifest", "img", "m%d.png" % i))
    # Broken: a short row, an unknown label, a listed image without a file.
    with open(path("manifest_bad", "classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    with open(path("manifest_bad", "train.csv"), "w") as f:
        f.write("image,cat,dog,traffic light\n")
        f.write("../manifest/img/m0.png,1,0,0\n")
        f.write("../manifest/img/m1.png,1,0\n")
        f.write("missing.png,0,1,0\n")
        f.write("../manifest/img/m2.png,0,2,0\n")


def svhn_and_idx():
    h, w, c, n = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), np.arange(5), indexing="ij")
    X = ((h * 7 + w * 3 + c * 50 + n * 11) % 256).astype(np.uint8)
    y = np.array([[1], [10], [3], [4], [5]], dtype=np.uint8)
    scipy.io.savemat(path("svhn", "test_32x32.mat"), {"X": X, "y": y})
    def mnist(count, offset):
        nn, yy, xx = np.meshgrid(np.arange(count) + offset, np.arange(28), np.arange(28), indexing="ij")
        return ((nn * 31 + yy * 5 + xx) % 256).astype(np.uint8)
    write_idx(os.path.join("MNIST", "t10k-images-idx3-ubyte.gz"), mnist(3, 0), gz=True)
    write_idx(os.path.join("MNIST", "raw", "train-images-idx3-ubyte"), mnist(2, 100), gz=False)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    folders()
    voc()
    coco()
    nus_wide()
    manifests()
    svhn_and_idx()


if __name__ == "__main__":
    main()
