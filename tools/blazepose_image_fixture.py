#!/usr/bin/env python3
"""LiteRT reference outputs of the three BlazePose networks on a real picture of a person.

The random-byte fixtures of ``convert_blazepose.py`` drive the networks far out of distribution
(outputs in the hundreds, where float32 summation order alone moves the full model's landmarks by
~0.1 crop px). This fixture uses in-distribution inputs: the rendered avatar
``plugin-docs/src/images/avatar_arms_raised.png`` (512x512 RGB), subsampled by 2 (every other row
and column, ``img[::2, ::2]``) to 256x256 for the landmark models, and that image's centre
``[16:240, 16:240]`` for the detector. Model inputs are formed exactly as in ``convert_blazepose.py``
(``b / 127.5 - 1`` and ``b / 255``, float32).

Writes ``tests/fixtures/blazepose_avatar.safetensors``: ``detector.input`` / ``landmark.input``
(uint8 [1,H,W,3]) and ``{detector,landmark_lite,landmark_full}.{output name}`` (float32; the
segmentation and heatmap as float16), computed with ``ai-edge-litert`` (reference kernels, one
thread). Needs the package cache that ``convert_blazepose.py`` fills (tools/.cache).

    python3 tools/blazepose_image_fixture.py
"""

import collections
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_blazepose as cb  # noqa: E402

IMAGE = os.path.join(cb.ROOT, "plugin-docs", "src", "images", "avatar_arms_raised.png")
OUT = os.path.join(cb.ROOT, "tests", "fixtures", "blazepose_avatar.safetensors")


def model_bytes(pkg, fname, rng):
    raw = open(os.path.join(pkg, fname), "rb").read()
    return raw[rng[0]:rng[1]] if rng else raw


def main():
    pkg = cb.fetch_package()
    img = np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.uint8)
    assert img.shape == (512, 512, 3), img.shape
    lm_in = np.ascontiguousarray(img[::2, ::2])[None]
    det_in = np.ascontiguousarray(lm_in[:, 16:240, 16:240])
    tensors = collections.OrderedDict()
    tensors["detector.input"] = det_in
    tensors["landmark.input"] = lm_in
    for name, fname, rng, kind in cb.MODELS:
        data = model_bytes(pkg, fname, rng)
        b = det_in if kind == "detector" else lm_in
        _, outs, det = cb.run_litert(data, [cb.to_model_input(b, kind)])
        for d, y in zip(det, outs):
            tensors["%s.%s" % (name, d["name"])] = y.astype(np.float16 if y.size >= 65536 else np.float32)
    meta = [
        ("image", "plugin-docs/src/images/avatar_arms_raised.png"),
        ("inputs", "landmark.input = img[::2, ::2] (256x256); detector.input = landmark.input[16:240, 16:240]; "
                   "model input b/127.5-1 (detector) or b/255 (landmark), float32"),
        ("runtime", "ai-edge-litert %s, builtin reference kernels (no XNNPACK), 1 thread" % cb.litert_version()),
        ("storage", "outputs f32, except outputs with >= 65536 elements stored f16"),
    ]
    cb.write_safetensors(OUT, tensors, meta)
    print("wrote %s (%d bytes)" % (os.path.relpath(OUT, cb.ROOT), os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
