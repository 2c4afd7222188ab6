#!/usr/bin/env python3
"""The real sample as video: ``assets/samples/pose2sim_demo/cam0{1..4}.mp4`` from Pose2Sim's demo.

Source: the four demo videos of the PyPI wheel ``pose2sim`` 0.10.49 (BSD-3-Clause, (c) David
Pagnon; ``Pose2Sim/Demo_SinglePerson/videos/``, 100 frames at 60 fps, 1080 or 1088 x 1920, cam02 in
VP9), fetched with ``pip download --no-deps`` into ``tools/.cache/`` (as ``tools/pose2sim_sample.py``).

Each is scaled by 1/5 with area averaging (216 or 218 x 384, the size of the JPEG folders and of
``calibration.toml``'s pixels) and re-encoded as H.264 High profile with B-frames (as phones
record), 60 fps, CRF 14, the index first (``+faststart``), no audio. The static ffmpeg of the PyPI
package ``imageio-ffmpeg`` does the work; nothing needs a system ffmpeg.

``--reference`` also decodes the shipped MP4s with that ffmpeg (an H.264 decoder independent of
ours) into PNG folders under ``tools/.cache/pose2sim_decoded/`` and prints the ``cmanet detect``
command that turns them into ``assets/samples/pose2sim_demo/video_reference.safetensors``, the
keypoints ``tests/detect.rs`` compares ``cmanet detect`` on the MP4s with.

    pip install imageio-ffmpeg
    python3 tools/pose2sim_videos.py [--reference]
"""

import os
import shutil
import subprocess
import sys

import imageio_ffmpeg

from pose2sim_sample import CACHE, OUT, fetch  # the same wheel, fetched once

WIDTHS = {1080: 216, 1088: 218}


def width_of(ffmpeg, path):
    info = subprocess.run([ffmpeg, "-hide_banner", "-i", path], capture_output=True, text=True).stderr
    for line in info.splitlines():
        if "Video:" in line:
            for part in line.split(","):
                dims = part.strip().split(" ")[0]
                if "x" in dims and dims.replace("x", "").isdigit():
                    return int(dims.split("x")[0])
    raise RuntimeError(f"no video size in {path}")


def main():
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    wheel = fetch()
    for cam in range(1, 5):
        src = os.path.join(CACHE, f"cam0{cam}_original.mp4")
        with open(src, "wb") as f:
            f.write(wheel.read(f"Pose2Sim/Demo_SinglePerson/videos/cam0{cam}.mp4"))
        w = WIDTHS[width_of(ffmpeg, src)]
        out = os.path.join(OUT, f"cam0{cam}.mp4")
        subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", src, "-vf", f"scale={w}:384:flags=area",
                        "-c:v", "libx264", "-profile:v", "high", "-bf", "2", "-crf", "14", "-pix_fmt", "yuv420p",
                        "-r", "60", "-movflags", "+faststart", "-an", "-map_metadata", "-1", out], check=True)
        print(out, os.path.getsize(out), "bytes")
    if "--reference" in sys.argv:
        dec = os.path.join(CACHE, "pose2sim_decoded")
        shutil.rmtree(dec, ignore_errors=True)
        for cam in range(1, 5):
            d = os.path.join(dec, f"cam0{cam}")
            os.makedirs(d)
            subprocess.run([ffmpeg, "-loglevel", "error", "-i", os.path.join(OUT, f"cam0{cam}.mp4"),
                            "-start_number", "0", os.path.join(d, "%03d.png")], check=True)
        views = " ".join(os.path.join(dec, f"cam0{c}") for c in range(1, 5))
        print(f"cmanet detect --views {views} --calibration {OUT}/calibration.toml --world-up y --fps 60 "
              f"--output {OUT}/video_reference.safetensors")


if __name__ == "__main__":
    main()
