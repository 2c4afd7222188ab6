#!/usr/bin/env python3
"""Build the small test videos in ``tests/fixtures/video/`` (tests/video.rs reads them).

Each frame ``i`` is black with a white 8x8 square whose left edge is at ``x = 2 i`` pixels (and
``y = 8``), so a test can tell which frame it got from the pixels alone. Encoded with libx264 by the
static ffmpeg of the PyPI package ``imageio-ffmpeg`` (no system ffmpeg needed), the index first in
the file (``+faststart``) so that a copy cut short still opens.

* ``counted.mp4``: 24 frames, 64x48, exactly 30 fps, Constrained Baseline (no B-frames), a key frame
  every 8 frames.
* ``bframes.mp4``: the same 24 frames at 25 fps, High profile with up to 3 B-frames (decode order
  differs from presentation order; the edit list shifts the first frame to 0).
* ``vfr.mp4``: the same 24 frames shown at variable times ``t_i = (i + i^2 / 20) / 30`` seconds
  (1/90000 s timescale).

    pip install imageio-ffmpeg numpy
    python3 tools/video_fixtures.py
"""

import os
import subprocess

import imageio_ffmpeg
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "video")
W, H, N = 64, 48, 24


def frames():
    out = []
    for i in range(N):
        f = np.zeros((H, W, 3), np.uint8)
        f[8:16, 2 * i : 2 * i + 8] = 255
        out.append(f)
    return np.stack(out)


def encode(name, fps, extra, setpts=None):
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    vf = ["-vf", f"settb=1/90000,setpts={setpts}", "-fps_mode", "passthrough"] if setpts else []
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
           "-r", str(fps), "-i", "-", *vf, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "10",
           *extra, "-movflags", "+faststart", "-an", os.path.join(OUT, name)]
    subprocess.run(cmd, input=frames().tobytes(), check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    encode("counted.mp4", 30, ["-profile:v", "baseline", "-g", "8", "-keyint_min", "8", "-sc_threshold", "0",
                               "-video_track_timescale", "30000"])
    encode("bframes.mp4", 25, ["-profile:v", "high", "-bf", "3", "-g", "12", "-sc_threshold", "0"])
    encode("vfr.mp4", 30, ["-profile:v", "baseline", "-g", "8", "-enc_time_base", "1/90000",
                             "-video_track_timescale", "90000"],
           setpts="(N+N*N/20)/(30*TB)")
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
