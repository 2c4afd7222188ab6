#!/usr/bin/env python3
"""Build the real multi-view sample ``assets/samples/pose2sim_demo/`` from Pose2Sim's demo.

Source: the PyPI wheel ``pose2sim`` 0.10.49 (BSD-3-Clause, (c) David Pagnon), fetched with
``pip download --no-deps`` into ``tools/.cache/``; its ``Pose2Sim/Demo_SinglePerson/``: four
portrait videos (``videos/cam0{1..4}.mp4``, 100 frames at 60 fps, 1080 or 1088 x 1920) and the
Qualisys calibration ``calibration/Calib.qca.txt``.

Writes:

* ``cam0{1..4}/{frame:03}.jpg``: every frame scaled by 1/5 (``cv2.INTER_AREA``; 216 or 218 x 384),
  JPEG quality 70;
* ``calibration.toml``: the four cameras in the Pose2Sim/anipose layout, in **our conventions**:
  pixels of the scaled frames, world +y up, metres, OpenCV camera axes, world to camera
  (``cmanet detect --calibration calibration.toml --world-up y``). Distortion is not written
  (zeros): the crate uses pinhole cameras.

Qualisys to OpenCV (as Pose2Sim's own ``calib_qca_fun``): the file's focal lengths and principal
point are in 1/64 pixel; ``transform`` holds the camera position in mm and a rotation whose
columns... Pose2Sim reads it as ``R_q = M.T`` (M the r11..r33 matrix row by row), converts
``R = R_q.T = M``, ``t = -M pos``, then turns the camera by pi about its x axis (Qualisys cameras
look along -z with y up): ``R_cv = diag(1, -1, -1) M``, ``t_cv = -R_cv pos``. The Qualisys world is
z-up; ours is y-up: ``R_ours = R_cv A`` with ``A`` taking our axes to theirs (x, y, z)_ours =
(x, z, -y)_theirs. The video pixel grid is taken as the calibration's (cameras 1 and 2 record 1080
columns of the calibrated 1088, as Pose2Sim assumes).

Needs ``opencv-python-headless`` and ``numpy`` (for example in a venv under /tmp).

    python3 tools/pose2sim_sample.py
"""

import glob
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "tools", ".cache")
WHEEL = "pose2sim==0.10.49"
DEMO = "Pose2Sim/Demo_SinglePerson/"
OUT = os.path.join(ROOT, "assets", "samples", "pose2sim_demo")
SCALE = 0.2
QUALITY = 70

# Our world (y up) to the Qualisys world (z up): X_theirs = A X_ours.
A = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def fetch():
    os.makedirs(CACHE, exist_ok=True)
    pat = os.path.join(CACHE, "pose2sim-0.10.49-*.whl")
    if not glob.glob(pat):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", CACHE, WHEEL], check=True)
    return zipfile.ZipFile(sorted(glob.glob(pat))[0])


def rodrigues(r):
    """Rotation matrix -> axis-angle vector (no cv2 needed)."""
    angle = np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1))
    if angle < 1e-12:
        return np.zeros(3)
    if np.pi - angle < 1e-6:
        # Near pi: axis from the diagonal.
        axis = np.sqrt(np.maximum((np.diag(r) + 1) / 2, 0))
        i = int(np.argmax(axis))
        axis[(i + 1) % 3] = np.copysign(axis[(i + 1) % 3], r[i, (i + 1) % 3])
        axis[(i + 2) % 3] = np.copysign(axis[(i + 2) % 3], r[i, (i + 2) % 3])
        return axis / np.linalg.norm(axis) * angle
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / (2 * np.sin(angle))
    return axis * angle


def cameras(qca_text):
    root = ET.fromstring(qca_text)
    cams = []
    for cam in root.findall("cameras/camera"):
        fov = cam.find("fov_video").attrib
        left, top = float(fov["left"]), float(fov["top"])
        intr = cam.find("intrinsic").attrib
        fu, fv = float(intr["focalLengthU"]) / 64, float(intr["focalLengthV"]) / 64
        cu, cv = float(intr["centerPointU"]) / 64 - left, float(intr["centerPointV"]) / 64 - top
        tr = cam.find("transform").attrib
        m = np.array([[float(tr["r%d%d" % (i, j)]) for j in (1, 2, 3)] for i in (1, 2, 3)])
        pos = np.array([float(tr[k]) for k in "xyz"]) / 1000.0
        r_cv = np.diag([1.0, -1.0, -1.0]) @ m
        t_cv = -r_cv @ pos
        cams.append({"name": cam.attrib["serial"], "K": np.array([[fu, 0, cu], [0, fv, cv], [0, 0, 1.0]]),
                     "R": r_cv @ A, "t": t_cv, "residual": float(cam.attrib["avg-residual"])})
    return sorted(cams, key=lambda c: c["name"])


def fmt(v):
    return "[ " + ", ".join("%.10g" % x for x in v) + ",]"


def main():
    import cv2

    wheel = fetch()
    cams = cameras(wheel.read(DEMO + "calibration/Calib.qca.txt").decode("ascii"))
    os.makedirs(OUT, exist_ok=True)
    toml = ["# Pose2Sim Demo_SinglePerson (BSD-3-Clause, (c) David Pagnon), Qualisys calibration converted",
            "# by tools/pose2sim_sample.py to our conventions: pixels of the 1/5-scale frames, world +y up,",
            "# metres, OpenCV camera axes, world to camera (rotation = Rodrigues vector). No distortion.", ""]
    for cam in cams:
        name = cam["name"]
        data = wheel.read(DEMO + "videos/%s.mp4" % name)
        tmp = os.path.join(CACHE, "%s.mp4" % name)
        open(tmp, "wb").write(data)
        cap = cv2.VideoCapture(tmp)
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        n, size = 0, None
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            size = (round(w * SCALE), round(h * SCALE))
            small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            cv2.imwrite(os.path.join(d, "%03d.jpg" % n), small, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
            n += 1
        sx, sy = size[0] / w, size[1] / h
        k = cam["K"].copy()
        k[0] *= sx
        k[1] *= sy
        toml += ["[%s]" % name, 'name = "%s"' % name, "size = %s" % fmt(size),
                 "matrix = [ %s, %s, %s,]" % (fmt(k[0]), fmt(k[1]), fmt(k[2])),
                 "distortions = [ 0.0, 0.0, 0.0, 0.0,]",
                 "rotation = %s" % fmt(rodrigues(cam["R"])), "translation = %s" % fmt(cam["t"]),
                 "fisheye = false", ""]
        print("%s: %d frames, %dx%d -> %dx%d, Qualisys residual %.3f" % (name, n, w, h, size[0], size[1], cam["residual"]))
    toml += ["[metadata]", "adjusted = false", "error = 0.0", ""]
    open(os.path.join(OUT, "calibration.toml"), "w").write("\n".join(toml))
    total = sum(os.path.getsize(f) for f in glob.glob(os.path.join(OUT, "*", "*.jpg")))
    print("frames: %.2f MiB" % (total / 2**20))


if __name__ == "__main__":
    main()
