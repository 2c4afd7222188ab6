#!/usr/bin/env python3
"""Convert MediaPipe BlazePose (detector + lite/full landmark models) to safetensors, with fixtures.

Source: the npm package ``@mediapipe/pose`` 0.5.1675469404 (Apache-2.0, (c) Google), fetched with
``npm pack`` into ``tools/.cache/`` (git-ignored). The package ships ``pose_landmark_lite.tflite``
and ``pose_landmark_full.tflite`` as files; the pose detector (``pose_detection.tflite``) is packed
in ``pose_solution_packed_assets.data`` at bytes 0..2962288 (see the package's
``pose_solution_packed_assets_loader.js``).

The TFLite flatbuffers are parsed with the PyPI package ``tflite`` (pure-Python flatbuffer
bindings; its wheel and that of ``flatbuffers`` are fetched with ``pip download --no-deps`` into the
cache and imported from there, so the parse does not depend on what is installed).

Weights: every constant of the graphs is float16 behind a DEQUANTIZE op (and, in the detector, also
behind a DENSIFY op: the tensor is stored in TFLite's sparse format). Those ops are folded away:
the constant is densified (``densify`` implements the TFLite format: traversal order, block map,
DENSE / SPARSE_CSR dimension metadata) and stored as float16 (the exact original values: the f16 ->
f32 DEQUANTIZE is lossless). Convolution kernels are transposed to candle's layout:
CONV_2D ``[O,KH,KW,I]`` -> ``[O,I,KH,KW]``; DEPTHWISE_CONV_2D ``[1,KH,KW,C*M]`` -> ``[C*M,1,KH,KW]``
(groups = C). Biases are ``[O]``.

Outputs, per model ``assets/models/blazepose_{detector,landmark_lite,landmark_full}.safetensors``:

* tensors ``op{index:03}_{opname}.{weight|bias}`` (``index`` counts the remaining compute ops in
  execution order, ``opname`` is the lower-case TFLite builtin name);
* ``__metadata__``: ``graph`` (JSON; see ``GRAPH_DOC`` below), ``source`` (JSON: package, version,
  file, byte range, sha256), ``licence`` (Apache-2.0), ``layout`` (the weight layout above).

Fixtures, ``tests/fixtures/blazepose_{model}.safetensors``: for samples k = 0, 1 the input image as
``input{k}`` (uint8, [1,H,W,3], random bytes from SplitMix64, see ``sample_bytes``) and every output
tensor of the model as ``output{k}.{tflite output name}``, computed with the reference runtime
``ai-edge-litert`` (builtin kernels, no XNNPACK delegate, one thread). The model input is
``x = f32(b) / 127.5 - 1`` (detector, range [-1,1]) or ``x = f32(b) / 255`` (landmark, [0,1]),
evaluated in float32, exactly as numpy does below. Outputs are float32, except outputs with at
least 65536 elements (the landmark model's segmentation [1,256,256,1] and heatmap [1,64,64,39]),
stored as float16 to keep the files under 1.5 MiB. The metadata also records the max |difference|
between the reference kernels and the default (XNNPACK) runtime, a hint for the tolerance.

The script also checks itself: every folded constant is compared with the runtime's own
DEQUANTIZE output (bit-exact), and a small numpy interpreter that reads only the written safetensors
file (``numpy_forward``) reproduces the runtime's outputs; the max errors are printed.

Deterministic: rerunning writes byte-identical files (hand-ordered header, fixed seeds).

    pip install numpy ai-edge-litert        # ai-edge-litert only for the fixtures
    python3 tools/convert_blazepose.py
"""

import collections
import glob
import hashlib
import json
import os
import struct
import subprocess
import sys
import tarfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "tools", ".cache")
NPM_NAME = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
TFLITE_WHEEL = "tflite==2.18.0"
FLATBUFFERS_WHEEL = "flatbuffers==25.12.19"
DETECTOR_RANGE = (0, 2962288)

GRAPH_DOC = (
    "graph JSON: {inputs:[{tensor,name,shape}], outputs:[...], tensors:{id:{name,shape,dtype}} "
    "(activations only, NHWC as in TFLite), ops:[{index, tflite_index, op, inputs:[...], outputs:[ids], "
    "options:{...}}]}. An op input is {tensor:id} (an activation), {param:name} (a tensor of this "
    "file, f16) or {value:[...], shape:[...]} (an int32 constant, inlined). Conv/pool ops with "
    "padding SAME also carry options.pad = [top,bottom,left,right] (TF SAME: the extra pixel goes "
    "bottom/right). DEQUANTIZE and DENSIFY ops are folded into the params."
)

MODELS = [
    # name, file in the package, byte range or None, input (lo, hi) formula
    ("detector", "pose_solution_packed_assets.data", DETECTOR_RANGE, "detector"),
    ("landmark_lite", "pose_landmark_lite.tflite", None, "landmark"),
    ("landmark_full", "pose_landmark_full.tflite", None, "landmark"),
]

# Known meaning of the outputs (MediaPipe's pose_detection / pose_landmark graphs).
OUTPUT_MEANING = {
    "detector": {
        "Identity": "regressors [1,2254,12]: box (cx,cy,w,h) + 4 keypoints (x,y), in 224-px units, relative to the anchors",
        "Identity_1": "classificators [1,2254,1]: score logits (apply sigmoid)",
    },
    "landmark": {
        "Identity": "landmarks [1,195] = 39 x (x,y,z,visibility,presence) in 256-px input units (visibility/presence are logits)",
        "Identity_1": "pose flag [1,1] (probability that a pose is present)",
        "Identity_2": "segmentation [1,256,256,1] logits",
        "Identity_3": "heatmap [1,64,64,39]",
        "Identity_4": "world landmarks [1,117] = 39 x (x,y,z) in metres, hip-centred",
    },
}


# ---------------------------------------------------------------------------------------------
# fetching


def fetch_package():
    """npm pack the package into the cache and extract it; returns the package dir."""
    os.makedirs(CACHE, exist_ok=True)
    tgz = os.path.join(CACHE, "mediapipe-pose-%s.tgz" % NPM_VERSION)
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", "%s@%s" % (NPM_NAME, NPM_VERSION)], cwd=CACHE, check=True)
    out = os.path.join(CACHE, "mediapipe-pose-%s" % NPM_VERSION)
    if not os.path.exists(os.path.join(out, "package", "package.json")):
        with tarfile.open(tgz) as tf:
            tf.extractall(out, filter="data")
    pkg = os.path.join(out, "package")
    meta = json.load(open(os.path.join(pkg, "package.json")))
    assert meta["version"] == NPM_VERSION and meta["license"] == "Apache-2.0", meta
    return pkg


def import_tflite():
    """Import `tflite` (and `flatbuffers`) from wheels downloaded into the cache."""
    wheels = []
    for req in (TFLITE_WHEEL, FLATBUFFERS_WHEEL):
        name, version = req.split("==")
        pat = os.path.join(CACHE, "%s-%s-*.whl" % (name, version))
        if not glob.glob(pat):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", CACHE, req],
                           check=True)
        wheels.append(sorted(glob.glob(pat))[0])
    for w in reversed(wheels):
        sys.path.insert(0, w)  # pure-Python wheels import from the zip
    import tflite  # noqa: E402
    assert os.path.abspath(tflite.__file__).startswith(os.path.abspath(wheels[0])), tflite.__file__
    return tflite


# ---------------------------------------------------------------------------------------------
# TFLite parsing


def enum_names(cls):
    return {v: k for k, v in cls.__dict__.items() if not k.startswith("_") and isinstance(v, int)}


def snake(name):
    out = ""
    for i, c in enumerate(name):
        nxt_lower = i + 1 < len(name) and name[i + 1].islower()
        if c.isupper() and i > 0 and (not name[i - 1].isupper() or nxt_lower):
            out += "_"
        out += c.lower()
    return out


class TfliteModel:
    def __init__(self, tflite, data):
        from tflite.ActivationFunctionType import ActivationFunctionType
        from tflite.BuiltinOperator import BuiltinOperator
        from tflite.BuiltinOptions import BuiltinOptions
        from tflite.Padding import Padding
        from tflite.TensorType import TensorType

        self.tflite = tflite
        self.data = data
        assert data[4:8] == b"TFL3", "not a TFLite flatbuffer"
        self.m = tflite.Model.GetRootAsModel(data, 0)
        assert self.m.SubgraphsLength() == 1
        self.g = self.m.Subgraphs(0)
        self.op_names = enum_names(BuiltinOperator)
        self.opt_names = enum_names(BuiltinOptions)
        self.act_names = enum_names(ActivationFunctionType)
        self.pad_names = enum_names(Padding)
        self.type_names = enum_names(TensorType)

    def op_name(self, op):
        oc = self.m.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = self.op_names[code]
        if name == "CUSTOM":
            name = "CUSTOM:" + oc.CustomCode().decode()
        return name

    def tensor(self, i):
        return self.g.Tensors(i)

    def shape(self, i):
        t = self.tensor(i)
        return [int(x) for x in t.ShapeAsNumpy()] if t.ShapeLength() else []

    def dtype(self, i):
        return self.type_names[self.tensor(i).Type()]

    def buffer(self, i):
        t = self.tensor(i)
        b = self.m.Buffers(t.Buffer())
        if b is None:
            return b""
        if b.Offset() > 1:  # data stored outside the flatbuffer (large models)
            return self.data[b.Offset():b.Offset() + b.Size()]
        return b.DataAsNumpy().tobytes() if b.DataLength() else b""

    def options(self, op):
        """All builtin options of an op as a dict (snake_case keys, enums by name)."""
        kind = self.opt_names.get(op.BuiltinOptionsType(), "NONE")
        if kind == "NONE":
            return {}
        mod = __import__("tflite.%s" % kind, fromlist=[kind])
        o = getattr(mod, kind)()
        table = op.BuiltinOptions()
        o.Init(table.Bytes, table.Pos)
        out = {}
        for attr in sorted(dir(o)):
            if attr.startswith(("_", "Init", "GetRootAs")) or attr.endswith(("IsNone", "Length", "BufferHasIdentifier")):
                continue
            fn = getattr(o, attr)
            if attr.endswith("AsNumpy"):
                v = fn()
                v = [] if isinstance(v, int) else [int(x) for x in v]
                out[snake(attr[:-len("AsNumpy")])] = v
                continue
            if hasattr(o, attr + "AsNumpy"):
                continue
            v = fn()
            key = snake(attr)
            if attr == "Padding":
                v = self.pad_names[v]
            elif attr.startswith("FusedActivationFunction"):
                v = self.act_names[v]
            elif isinstance(v, bool):
                pass
            elif isinstance(v, (int, float)):
                v = v
            else:
                continue
            out[key] = v
        return out


SPARSE_VECTOR_TYPES = {1: "Int32Vector", 2: "Uint16Vector", 3: "Uint8Vector"}


def sparse_index_vector(tflite, typ, table):
    name = SPARSE_VECTOR_TYPES[typ]
    mod = __import__("tflite.%s" % name, fromlist=[name])
    v = getattr(mod, name)()
    v.Init(table.Bytes, table.Pos)
    return np.asarray(v.ValuesAsNumpy(), dtype=np.int64)


def densify(values, dense_shape, traversal_order, block_map, dim_meta):
    """TFLite sparse tensor -> dense array (tensorflow/lite/kernels/internal/utils/sparsity_format_converter).

    `values` are the stored values in traversal order; `dim_meta[l]` is ("DENSE", size) or
    ("SPARSE_CSR", array_segments, array_indices) for level l, which walks dimension
    traversal_order[l]: an original dim (< rank) or block dim rank+k of original dim block_map[k].
    Vectorised: every path through the levels is one stored value, enumerated in order.
    """
    rank = len(dense_shape)
    nlev = len(traversal_order)
    prev = np.zeros(1, dtype=np.int64)  # per path: position in the previous level (CSR row)
    level_idx = []  # per level: the index of every path at that level
    for lev in range(nlev):
        meta = dim_meta[lev]
        if meta[0] == "DENSE":
            size = meta[1]
            n = prev.size
            level_idx = [np.repeat(a, size) for a in level_idx]
            cur = np.tile(np.arange(size, dtype=np.int64), n)
            prev = np.repeat(prev, size) * size + cur
        else:
            seg, ind = meta[1], meta[2]
            starts, ends = seg[prev], seg[prev + 1]
            counts = ends - starts
            level_idx = [np.repeat(a, counts) for a in level_idx]
            # positions starts[p] .. ends[p]-1 for every path p
            pos = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
            cur = ind[pos]
            prev = pos
        level_idx.append(cur)
    assert prev.size == values.size, (prev.size, values.size)
    orig = [None] * rank
    for lev in range(rank):
        orig[traversal_order[lev]] = level_idx[lev]
    for lev in range(rank, nlev):
        k = traversal_order[lev] - rank
        d = block_map[k]
        block = dim_meta[lev][1]
        orig[d] = orig[d] * block + level_idx[lev]
    dense = np.zeros(dense_shape, dtype=values.dtype)
    dense[tuple(orig)] = values
    return dense


def densify_self_test():
    """A 4x4 block-sparse (BCSR, 2x2 blocks) matrix and a plain CSR one."""
    vals = np.arange(1, 9, dtype=np.float32)
    d = densify(vals, [4, 4], [0, 1, 2, 3], [0, 1],
                [("DENSE", 2), ("SPARSE_CSR", np.array([0, 1, 2]), np.array([0, 1])), ("DENSE", 2), ("DENSE", 2)])
    want = np.array([[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 5, 6], [0, 0, 7, 8]], np.float32)
    assert (d == want).all(), d
    d = densify(vals[:3], [2, 3], [1, 0], [],
                [("DENSE", 3), ("SPARSE_CSR", np.array([0, 1, 1, 3]), np.array([1, 0, 1]))])
    want = np.array([[0, 0, 2], [1, 0, 3]], np.float32)  # column-major CSR (traversal order 1,0)
    assert (d == want).all(), d


def sparse_tensor(model, i):
    t = model.tensor(i)
    s = t.Sparsity()
    trav = [int(x) for x in s.TraversalOrderAsNumpy()]
    bm = s.BlockMapAsNumpy()
    bm = [] if isinstance(bm, int) else [int(x) for x in bm]
    meta = []
    for lev in range(s.DimMetadataLength()):
        d = s.DimMetadata(lev)
        if d.Format() == 0:
            meta.append(("DENSE", int(d.DenseSize())))
        else:
            seg = sparse_index_vector(model.tflite, d.ArraySegmentsType(), d.ArraySegments())
            ind = sparse_index_vector(model.tflite, d.ArrayIndicesType(), d.ArrayIndices())
            meta.append(("SPARSE_CSR", seg, ind))
    return trav, bm, meta


NP_TYPES = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "INT64": np.int64}


def const_value(model, i):
    """Raw constant tensor i (dense, its own dtype), or None for an activation."""
    raw = model.buffer(i)
    if not raw:
        return None
    t = model.tensor(i)
    arr = np.frombuffer(raw, dtype=np.dtype(NP_TYPES[model.dtype(i)]).newbyteorder("<"))
    if t.Sparsity() is not None:
        trav, bm, meta = sparse_tensor(model, i)
        return densify(arr, model.shape(i), trav, bm, meta), ("sparse", trav, bm, [m[0] for m in meta])
    return arr.reshape(model.shape(i)), None


def same_pad(size, k, stride, dil):
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dil + 1 - size, 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------------------------
# conversion


def convert(model):
    """Fold DEQUANTIZE/DENSIFY, build the graph description and the params."""
    consts = {}  # tensor id -> f16/int array (folded)
    sparse_info = []
    producers = {}
    ops = []
    folded = collections.Counter()
    for k in range(model.g.OperatorsLength()):
        op = model.g.Operators(k)
        name = model.op_name(op)
        ins = [int(x) for x in op.InputsAsNumpy()]
        outs = [int(x) for x in op.OutputsAsNumpy()]
        if name in ("DEQUANTIZE", "DENSIFY"):
            (src,), (dst,) = ins, outs
            if src in consts:
                v = consts[src]
            else:
                v, info = const_value(model, src)
                if info is not None:
                    sparse_info.append((src, info))
            if name == "DEQUANTIZE":
                assert v.dtype == np.float16
            consts[dst] = v
            folded[name] += 1
            continue
        ops.append((k, name, ins, outs, model.options(op)))

    params = collections.OrderedDict()
    graph_ops = []
    act = set()
    for gi in range(model.g.InputsLength()):
        act.add(int(model.g.Inputs(gi)))
    for index, (k, name, ins, outs, opts) in enumerate(ops):
        base = "op%03d_%s" % (index, name.lower().replace(":", "_"))
        gins = []
        for pos, t in enumerate(ins):
            if t < 0:
                gins.append(None)
                continue
            if t in act:
                gins.append({"tensor": t})
                continue
            v = consts.get(t)
            if v is None:
                r = const_value(model, t)
                assert r is not None, "tensor %d of op %d is neither an activation nor a constant" % (t, k)
                v, info = r
                assert info is None
            if v.dtype in (np.float16, np.float32):
                assert v.dtype == np.float16, (name, t, v.dtype)
                if name in ("CONV_2D", "DEPTHWISE_CONV_2D") and pos in (1, 2):
                    role = "weight" if pos == 1 else "bias"
                    if pos == 1 and name == "CONV_2D":
                        v = v.transpose(0, 3, 1, 2)  # OHWI -> OIHW
                    elif pos == 1:
                        v = v.transpose(3, 0, 1, 2)  # 1,KH,KW,C*M -> C*M,1,KH,KW
                else:
                    role = "const%d" % pos
                pname = "%s.%s" % (base, role)
                params[pname] = np.ascontiguousarray(v)
                gins.append({"param": pname})
            else:
                gins.append({"value": [int(x) for x in v.reshape(-1)], "shape": list(v.shape)})
        for t in outs:
            act.add(t)
        if opts.get("padding") == "SAME" and name in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"):
            ih, iw = model.shape(ins[0])[1:3]
            if name == "CONV_2D" or name == "DEPTHWISE_CONV_2D":
                kh, kw = model.shape(ins[1])[1:3]
            else:
                kh, kw = opts["filter_height"], opts["filter_width"]
            dh, dw = opts.get("dilation_h_factor", 1), opts.get("dilation_w_factor", 1)
            opts["pad"] = list(same_pad(ih, kh, opts["stride_h"], dh) + same_pad(iw, kw, opts["stride_w"], dw))
        graph_ops.append({"index": index, "tflite_index": k, "op": name, "inputs": gins,
                          "outputs": outs, "options": opts})

    tensors = {}
    for t in sorted(act):
        tensors[str(t)] = {"name": model.tensor(t).Name().decode(), "shape": model.shape(t), "dtype": model.dtype(t)}
    io = lambda n, get: [{"tensor": int(get(j)), "name": model.tensor(int(get(j))).Name().decode(),
                          "shape": model.shape(int(get(j)))} for j in range(n)]
    graph = {
        "doc": GRAPH_DOC,
        "inputs": io(model.g.InputsLength(), model.g.Inputs),
        "outputs": io(model.g.OutputsLength(), model.g.Outputs),
        "tensors": tensors,
        "ops": graph_ops,
        "folded": dict(sorted(folded.items())),
    }
    return graph, params, consts, sparse_info


# ---------------------------------------------------------------------------------------------
# safetensors (hand-written header: deterministic key order and bytes)

ST_DTYPES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8",
             np.dtype(np.int32): "I32"}


def write_safetensors(path, tensors, metadata):
    header = collections.OrderedDict()
    header["__metadata__"] = collections.OrderedDict(metadata)
    blobs, off = [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        b = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_DTYPES[arr.dtype], "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    from safetensors.numpy import load_file
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n))["__metadata__"]
    return load_file(path), meta


# ---------------------------------------------------------------------------------------------
# a numpy interpreter of the written graph (checks that the file alone rebuilds the network)


def act_fn(x, name):
    if name in (None, "NONE"):
        return x
    if name == "RELU":
        return np.maximum(x, 0)
    if name == "RELU6":
        return np.clip(x, 0, 6)
    raise NotImplementedError(name)


def conv_nhwc(x, w, b, stride, pad, dil, groups):
    """x [1,H,W,C] f32; w [O,I/g,KH,KW]; pad (t,b,l,r)."""
    x = np.pad(x, ((0, 0), (pad[0], pad[1]), (pad[2], pad[3]), (0, 0)))
    _, h, wd, c = x.shape
    o, ig, kh, kw = w.shape
    sh, sw = stride
    oh = (h - (kh - 1) * dil[0] - 1) // sh + 1
    ow = (wd - (kw - 1) * dil[1] - 1) // sw + 1
    out = np.zeros((1, oh, ow, o), np.float32)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * dil[0]: i * dil[0] + (oh - 1) * sh + 1: sh, j * dil[1]: j * dil[1] + (ow - 1) * sw + 1: sw, :]
            if groups == 1:
                out += patch @ w[:, :, i, j].T
            else:
                assert ig == 1
                m = o // c
                out += np.repeat(patch, m, axis=3) * w[:, 0, i, j]
    return out + b


def resize_bilinear(x, oh, ow, align, half):
    _, ih, iw, _ = x.shape

    def coords(o, i):
        scale = (i - 1) / (o - 1) if align and o > 1 else i / o
        v = np.arange(o, dtype=np.float32)
        s = ((v + 0.5) * scale - 0.5) if half else v * scale
        lo = np.maximum(np.floor(s), 0).astype(np.int64)
        hi = np.minimum(np.ceil(s), i - 1).astype(np.int64)
        return s.astype(np.float32), lo, hi

    ys, y0, y1 = coords(oh, ih)
    xs, x0, x1 = coords(ow, iw)
    fy = (ys - y0)[None, :, None, None]
    fx = (xs - x0)[None, None, :, None]
    a = x[:, y0][:, :, x0]
    b_ = x[:, y1][:, :, x0]
    c = x[:, y0][:, :, x1]
    d = x[:, y1][:, :, x1]
    return a * (1 - fy) * (1 - fx) + b_ * fy * (1 - fx) + c * (1 - fy) * fx + d * fy * fx


def numpy_forward(graph, params, inputs):
    vals = {}
    for inp, x in zip(graph["inputs"], inputs):
        vals[inp["tensor"]] = x.astype(np.float32)

    def get(i):
        if "tensor" in i:
            return vals[i["tensor"]]
        if "param" in i:
            return params[i["param"]].astype(np.float32)
        return np.array(i["value"], np.int64).reshape(i["shape"])

    for op in graph["ops"]:
        name, o = op["op"], op["options"]
        ins = [get(i) if i is not None else None for i in op["inputs"]]
        out_shape = graph["tensors"][str(op["outputs"][0])]["shape"]
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            x, w, b = ins
            pad = o.get("pad", [0, 0, 0, 0])
            groups = 1 if name == "CONV_2D" else x.shape[3]
            y = conv_nhwc(x, w, b, (o["stride_h"], o["stride_w"]), pad,
                          (o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)), groups)
            y = act_fn(y, o["fused_activation_function"])
        elif name == "ADD":
            y = act_fn(ins[0] + ins[1], o["fused_activation_function"])
        elif name == "PAD":
            y = np.pad(ins[0], [tuple(p) for p in ins[1]])
        elif name == "MAX_POOL_2D":
            x = ins[0]
            pad = o.get("pad", [0, 0, 0, 0])
            x = np.pad(x, ((0, 0), (pad[0], pad[1]), (pad[2], pad[3]), (0, 0)), constant_values=-np.inf)
            kh, kw, sh, sw = o["filter_height"], o["filter_width"], o["stride_h"], o["stride_w"]
            oh, ow = out_shape[1:3]
            y = np.full((1, oh, ow, x.shape[3]), -np.inf, np.float32)
            for i in range(kh):
                for j in range(kw):
                    y = np.maximum(y, x[:, i: i + (oh - 1) * sh + 1: sh, j: j + (ow - 1) * sw + 1: sw])
            y = act_fn(y, o["fused_activation_function"])
        elif name == "RESIZE_BILINEAR":
            oh, ow = [int(v) for v in ins[1]]
            y = resize_bilinear(ins[0], oh, ow, o["align_corners"], o["half_pixel_centers"])
        elif name == "DEPTH_TO_SPACE":
            bs = o["block_size"]
            x = ins[0]
            n, h, w, c = x.shape
            y = x.reshape(n, h, w, bs, bs, c // bs // bs).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * bs, w * bs, -1)
        elif name == "RESHAPE":
            y = ins[0].reshape(out_shape)
        elif name == "CONCATENATION":
            y = act_fn(np.concatenate(ins, axis=o["axis"]), o["fused_activation_function"])
        elif name == "LOGISTIC":
            with np.errstate(over="ignore"):
                y = 1 / (1 + np.exp(-ins[0]))
        else:
            raise NotImplementedError(name)
        assert list(y.shape) == out_shape, (name, y.shape, out_shape)
        vals[op["outputs"][0]] = y.astype(np.float32)
    return [vals[o["tensor"]] for o in graph["outputs"]]


# ---------------------------------------------------------------------------------------------
# fixtures


def splitmix64(seed, n):
    """n outputs of SplitMix64 seeded with `seed` (uint64)."""
    mask = (1 << 64) - 1
    out = np.empty(n, dtype=np.uint64)
    s = np.uint64(seed)
    with np.errstate(over="ignore"):
        state = s + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    out[:] = z & np.uint64(mask)
    return out


def sample_bytes(seed, shape):
    """Image bytes: b[i] = splitmix64(seed)[i] >> 56, i over the row-major [1,H,W,3] elements."""
    n = int(np.prod(shape))
    return (splitmix64(seed, n) >> np.uint64(56)).astype(np.uint8).reshape(shape)


GENERATOR_DOC = (
    "input{k} = uint8 bytes b[i] = (z_i >> 56) with z_i the i-th SplitMix64 output for seed k "
    "(state_i = seed + (i+1)*0x9E3779B97F4A7C15 mod 2^64; z = (s ^ s>>30) * 0xBF58476D1CE4E5B9; "
    "z = (z ^ z>>27) * 0x94D049BB133111EB; z ^= z>>31), row-major over [1,H,W,3]. Model input: "
)
INPUT_FORMULA = {
    "detector": "x = f32(b) / 127.5 - 1 (float32 arithmetic), range [-1,1]",
    "landmark": "x = f32(b) / 255 (float32 arithmetic), range [0,1]",
}


def to_model_input(b, kind):
    b = b.astype(np.float32)
    if kind == "detector":
        return b / np.float32(127.5) - np.float32(1.0)
    return b / np.float32(255.0)


def run_litert(data, inputs, reference=True, preserve=False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kw = dict(model_content=bytes(data), num_threads=1, experimental_preserve_all_tensors=preserve)
    if reference:
        kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(**kw)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return it, [it.get_tensor(d["index"]).copy() for d in it.get_output_details()], it.get_output_details()


# ---------------------------------------------------------------------------------------------


def litert_version():
    from importlib.metadata import version
    return version("ai-edge-litert")


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def main():
    densify_self_test()
    pkg = fetch_package()
    tflite = import_tflite()
    try:
        import ai_edge_litert  # noqa: F401
        have_litert = True
    except ImportError:
        have_litert = False
        print("ai-edge-litert missing (pip install ai-edge-litert): no fixtures, no checks", file=sys.stderr)

    summary = []
    for name, fname, rng, kind in MODELS:
        raw = open(os.path.join(pkg, fname), "rb").read()
        data = raw[rng[0]:rng[1]] if rng else raw
        model = TfliteModel(tflite, data)
        graph, params, consts, sparse_info = convert(model)
        source = collections.OrderedDict([
            ("package", "npm %s" % NPM_NAME), ("version", NPM_VERSION), ("file", fname),
            ("bytes", [0, len(raw)] if rng is None else list(rng)),
            ("sha256", sha256(data)), ("file_sha256", sha256(raw)),
            ("original_name", "pose_detection.tflite" if name == "detector" else fname),
        ])
        meta = [
            ("format", "cmanet-blazepose-1"),
            ("model", name),
            ("source", json.dumps(source, separators=(",", ":"))),
            ("licence", "Apache-2.0; (c) Google LLC (MediaPipe). Converted by tools/convert_blazepose.py: "
                        "float16 weights kept as float16, sparse tensors densified, conv kernels transposed to OIHW."),
            ("layout", "activations NHWC as in TFLite; CONV_2D weight [O,I,KH,KW]; DEPTHWISE_CONV_2D weight "
                       "[C*M,1,KH,KW] (groups=C, out channel c*M+m); bias [O]; all params float16 (exact)."),
            ("graph", json.dumps(graph, separators=(",", ":"))),
        ]
        out = os.path.join(ROOT, "assets", "models", "blazepose_%s.safetensors" % name)
        write_safetensors(out, params, meta)

        hist = collections.Counter(op["op"] for op in graph["ops"])
        nparam = sum(int(v.size) for v in params.values())
        line = {"model": name, "ops": dict(sorted(hist.items())), "folded": graph["folded"],
                "params": nparam, "sparse_tensors": len(sparse_info), "file": os.path.relpath(out, ROOT),
                "bytes": os.path.getsize(out), "source_bytes": len(data)}
        if sparse_info:
            stored = sum(len(model.buffer(s)) // 2 for s, _ in sparse_info)
            dense = sum(int(np.prod(model.shape(s))) for s, _ in sparse_info)
            fmts = collections.Counter(tuple(i[3]) for _, i in sparse_info)
            blocks = sum(1 for _, i in sparse_info if i[2])
            line["sparse"] = "%d tensors, %d stored of %d values (%.1f%%), formats %s, %d with blocks" % (
                len(sparse_info), stored, dense, 100 * stored / dense,
                {"/".join(k): v for k, v in fmts.items()}, blocks)

        opts = collections.defaultdict(set)
        for op in graph["ops"]:
            o = {k: v for k, v in op["options"].items() if k not in ("pad", "new_shape")}
            opts[op["op"]].add(json.dumps(o, sort_keys=True))
        line["option_variants"] = {k: sorted(v) for k, v in sorted(opts.items())}

        if have_litert:
            # 1. folded constants == the runtime's DEQUANTIZE outputs (bit-exact)
            shape = graph["inputs"][0]["shape"]
            imgs = [sample_bytes(k, shape) for k in range(2)]
            xs = [to_model_input(b, kind) for b in imgs]
            it, _, _ = run_litert(data, [xs[0]], preserve=True)
            worst = 0.0
            for t, v in consts.items():
                if model.dtype(t) == "FLOAT32":
                    ref = it.get_tensor(t)
                    worst = max(worst, float(np.abs(ref - v.astype(np.float32)).max()))
            assert worst == 0.0, "folded constants differ from the runtime: %g" % worst
            line["weights_vs_runtime"] = "bit-exact (%d dequantized tensors)" % sum(
                1 for t in consts if model.dtype(t) == "FLOAT32")

            # 2. fixtures
            fx = collections.OrderedDict()
            fmeta = collections.OrderedDict()
            maxdiff_xnn = collections.OrderedDict()
            numpy_err = collections.OrderedDict()
            out_range = collections.OrderedDict()
            rparams, rmeta = read_safetensors(out)
            rgraph = json.loads(rmeta["graph"])
            for k in range(2):
                _, outs, det = run_litert(data, [xs[k]])
                _, outs_x, _ = run_litert(data, [xs[k]], reference=False)
                fx["input%d" % k] = imgs[k]
                for d, y, yx in zip(det, outs, outs_x):
                    n = d["name"]
                    maxdiff_xnn[n] = max(maxdiff_xnn.get(n, 0.0), float(np.abs(y - yx).max()))
                    out_range[n] = max(out_range.get(n, 0.0), float(np.abs(y).max()))
                    y = y.astype(np.float16 if y.size >= 65536 else np.float32)
                    fx["output%d.%s" % (k, d["name"])] = y
                # 3. the numpy interpreter on the written file
                ys = numpy_forward(rgraph, rparams, [xs[k]])
                for d, y, ref in zip(det, ys, outs):
                    n = d["name"]
                    numpy_err[n] = max(numpy_err.get(n, 0.0), float(np.abs(y - ref).max()))
            fmeta["model"] = "assets/models/blazepose_%s.safetensors" % name
            fmeta["source"] = json.dumps(source, separators=(",", ":"))
            fmeta["runtime"] = "ai-edge-litert %s, builtin reference kernels (no XNNPACK), 1 thread" % litert_version()
            fmeta["inputs"] = GENERATOR_DOC + INPUT_FORMULA[kind] + "; seeds 0 and 1"
            fmeta["outputs"] = json.dumps(OUTPUT_MEANING[kind], separators=(",", ":"))
            fmeta["storage"] = "outputs f32, except outputs with >= 65536 elements stored f16"
            fmeta["max_abs"] = json.dumps({k: float("%.4g" % v) for k, v in out_range.items()})
            fmeta["max_abs_diff_xnnpack"] = json.dumps({k: float("%.3g" % v) for k, v in maxdiff_xnn.items()})
            fmeta["max_abs_err_numpy_f32"] = json.dumps({k: float("%.3g" % v) for k, v in numpy_err.items()})
            fmeta["tolerance_hint"] = ("an independent float32 implementation (tools/convert_blazepose.py numpy_forward) "
                                       "differs from the reference by max_abs_err_numpy_f32; random-noise inputs drive the "
                                       "networks far out of distribution, so large outputs carry ~1e-4 relative error")
            fpath = os.path.join(ROOT, "tests", "fixtures", "blazepose_%s.safetensors" % name)
            write_safetensors(fpath, fx, fmeta)
            line["fixture"] = "%s (%d bytes)" % (os.path.relpath(fpath, ROOT), os.path.getsize(fpath))
            line["max_abs_output"] = {k: float("%.4g" % v) for k, v in out_range.items()}
            line["numpy_vs_runtime_max_abs_err"] = {k: float("%.2g" % v) for k, v in numpy_err.items()}
            line["xnnpack_vs_reference_max_abs_diff"] = {k: float("%.3g" % v) for k, v in maxdiff_xnn.items()}
            for k, v in numpy_err.items():
                assert v <= 1e-3 * max(1.0, out_range[k]), (k, v)  # f32 reordering, amplified by depth
        summary.append(line)

    for line in summary:
        print("== %s ==" % line.pop("model"))
        for k, v in line.items():
            if k == "option_variants":
                print("  options:")
                for op, vs in v.items():
                    for s in vs:
                        print("    %-18s %s" % (op, s))
            else:
                print("  %s: %s" % (k, v))


if __name__ == "__main__":
    main()
