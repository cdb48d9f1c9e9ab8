#!/usr/bin/env python3
"""One more round of the offline copy's own compression: every CIFAR-10 image of SRC re-encoded as JPEG quality 75
with 4:2:0 chroma (what the copy in ../shared/data already went through once) and written to DST in the same
official python layout, labels, names and order unchanged.

    python experiments/campaign/reencode_jpeg.py SRC DST      (SRC, DST: folders holding cifar-10-batches-py/)

Training the same recipe on SRC and on DST measures what one more round of this compression costs; that is
evidence of the order of what the first round cost against the official pixels, not a measurement of it.
"""
from __future__ import annotations

import argparse
import io
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
QUALITY, SUBSAMPLING = 75, 2        # PIL: subsampling 2 is 4:2:0


def reencode(rows: np.ndarray) -> np.ndarray:
    """N x 3072 channel-planar uint8 rows -> the same after a JPEG round trip."""
    images = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    out = np.empty_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=QUALITY, subsampling=SUBSAMPLING)
        out[i] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2).reshape(len(rows), 3072))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    args = p.parse_args(argv)
    src, dst = args.src / "cifar-10-batches-py", args.dst / "cifar-10-batches-py"
    if not (src / "test_batch").is_file():
        raise SystemExit(f"{src} holds no CIFAR-10 batches: run ../shared/data/prepare_cifar10.py {args.src} first")
    dst.mkdir(parents=True, exist_ok=True)
    changed = []
    for name in BATCHES:
        with open(src / name, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        new = reencode(np.asarray(batch[b"data"], dtype=np.uint8))
        changed.append(float(np.abs(new.astype(np.int16) - batch[b"data"]).mean()))
        batch[b"data"] = new
        tmp = dst / f".{name}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(batch, f, protocol=4)
        tmp.rename(dst / name)
    (dst / "batches.meta").write_bytes((src / "batches.meta").read_bytes())
    print(f"wrote {dst}: mean absolute pixel change {np.mean(changed):.2f} (of 255) per batch")


if __name__ == "__main__":
    main()
