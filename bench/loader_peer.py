#!/usr/bin/python3
"""Python peer of bench/bench_loader.cpp: torchvision's DataLoader over the same JPEGs with the
same transforms (PIL decoding, RandomHorizontalFlip -> RandomResizedCrop(size, scale=(0.5, 2.0))
-> ToTensor -> Normalize(ImageNet)), worker processes, batch size and timing rule.

Usage (normally run by bench_loader itself):
    /usr/bin/python3 bench/loader_peer.py make DIR COUNT   # write COUNT JPEGs into DIR
    /usr/bin/python3 bench/loader_peer.py time SPEC.json
SPEC.json: {"files": [...], "size": S, "batch": B, "workers": W, "epochs": E}
Prints one line "RESULT <json>": {"images_per_s": [one figure per epoch]}.
"""
import glob
import json
import os
import random
import sys
import time


def make(out_dir, count):
    """COCO-like JPEGs (640 px long side, quality 90) cut from the mate-backgrounds photos."""
    from PIL import Image
    photos = sorted(glob.glob("/usr/share/backgrounds/**/*.jpg", recursive=True))
    if not photos:
        sys.exit("no photographs under /usr/share/backgrounds (install mate-backgrounds)")
    rng = random.Random(0)
    os.makedirs(out_dir, exist_ok=True)
    opened = [Image.open(p).convert("RGB") for p in photos]
    for i in range(count):
        img = opened[i % len(opened)]
        w, h = img.size
        cw = rng.randint(w // 4, w // 2)
        ch = int(cw * rng.choice([0.75, 0.66, 1.0, 1.33]))
        ch = min(ch, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = img.crop((x, y, x + cw, y + ch))
        scale = 640 / max(cw, ch)
        crop = crop.resize((max(1, round(cw * scale)), max(1, round(ch * scale))), Image.BILINEAR)
        crop.save(os.path.join(out_dir, f"img{i:04d}.jpg"), quality=90)


def timed(spec):
    import torch
    import torchvision.transforms as T
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    transform = T.Compose([
        T.RandomHorizontalFlip(),
        T.RandomResizedCrop((spec["size"], spec["size"]), scale=(0.5, 2.0)),
        T.ToTensor(),
        T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])

    class Files(Dataset):
        def __init__(self, files):
            self.files = files

        def __len__(self):
            return len(self.files)

        def __getitem__(self, i):
            with open(self.files[i], "rb") as f:
                return transform(Image.open(f).convert("RGB")), i

    torch.manual_seed(0)
    loader = DataLoader(Files(spec["files"]), batch_size=spec["batch"], shuffle=True,
                        num_workers=spec["workers"], persistent_workers=spec["workers"] > 0,
                        pin_memory=torch.cuda.is_available(), drop_last=False)
    rates = []
    for _ in range(spec["epochs"]):
        t0 = time.perf_counter()
        n = 0
        for x, _ in loader:
            n += x.shape[0]
        rates.append(n / (time.perf_counter() - t0))
    print("RESULT " + json.dumps({"images_per_s": rates}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        with open(sys.argv[2]) as f:
            timed(json.load(f))
