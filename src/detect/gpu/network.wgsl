// The BlazePose interpreter's ops (src/detect/graph.rs) as compute shaders: one invocation per
// output value, NHWC f32 buffers, the same arithmetic as the CPU kernels (src/detect/kernels.rs).
// Every entry point shares one bind group layout; `p(i)` reads the op's i-th u32 parameter.

struct Params {
    v: array<vec4<u32>, 8>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x0: array<f32>;
@group(0) @binding(2) var<storage, read> x1: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const WORKGROUP: u32 = 64u;

fn p(i: u32) -> u32 {
    return params.v[i / 4u][i % 4u];
}

// The flat output index of this invocation (2D dispatch for large outputs), p(0) values in all.
fn index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.y * groups.x * WORKGROUP + id.x;
}

// 0: none, 1: ReLU, 2: ReLU6.
fn activate(v: f32, act: u32) -> f32 {
    if act == 1u {
        return max(v, 0.0);
    }
    if act == 2u {
        return clamp(v, 0.0, 6.0);
    }
    return v;
}

// Window parameters of conv, depthwise and max pool:
// 1 ih, 2 iw, 3 cin, 4 oh, 5 ow, 6 cout, 7 kh, 8 kw, 9 stride y, 10 stride x, 11 pad top,
// 12 pad left, 13 activation, 14 residual (x1 added before the activation).

// Output value `e` of a window op with `channels` output channels: (row, column, channel).
fn window_output(e: u32, channels: u32) -> vec3<i32> {
    let pix = e / channels;
    return vec3<i32>(i32(pix / p(5u)), i32(pix % p(5u)), i32(e % channels));
}

// The input row (axis 0) or column (axis 1) under kernel tap `k` of output row or column `o`
// (may lie in the padding: outside [0, p(1 + axis))).
fn window_input(o: i32, k: u32, axis: u32) -> i32 {
    return o * i32(p(9u + axis)) + i32(k) - i32(p(11u + axis));
}

@compute @workgroup_size(64)
fn conv(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let ih = i32(p(1u));
    let iw = i32(p(2u));
    let cin = p(3u);
    let cout = p(6u);
    let kw = p(8u);
    let at = window_output(e, cout);
    let oc = u32(at.z);
    var sum = b[oc];
    for (var ky = 0u; ky < p(7u); ky++) {
        let iy = window_input(at.x, ky, 0u);
        if iy < 0 || iy >= ih {
            continue;
        }
        for (var kx = 0u; kx < kw; kx++) {
            let ix = window_input(at.y, kx, 1u);
            if ix < 0 || ix >= iw {
                continue;
            }
            let src = u32(iy * iw + ix) * cin;
            let tap = (ky * kw + kx) * cin;
            for (var ic = 0u; ic < cin; ic++) {
                sum += x0[src + ic] * w[(tap + ic) * cout + oc];
            }
        }
    }
    if p(14u) == 1u {
        sum += x1[e];
    }
    out[e] = activate(sum, p(13u));
}

@compute @workgroup_size(64)
fn depthwise(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let ih = i32(p(1u));
    let iw = i32(p(2u));
    let c = p(3u);
    let kw = p(8u);
    let at = window_output(e, c);
    let ch = u32(at.z);
    var sum = b[ch];
    for (var ky = 0u; ky < p(7u); ky++) {
        let iy = window_input(at.x, ky, 0u);
        if iy < 0 || iy >= ih {
            continue;
        }
        for (var kx = 0u; kx < kw; kx++) {
            let ix = window_input(at.y, kx, 1u);
            if ix < 0 || ix >= iw {
                continue;
            }
            sum += x0[u32(iy * iw + ix) * c + ch] * w[(ky * kw + kx) * c + ch];
        }
    }
    out[e] = activate(sum, p(13u));
}

@compute @workgroup_size(64)
fn max_pool(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let ih = i32(p(1u));
    let iw = i32(p(2u));
    let c = p(3u);
    let at = window_output(e, c);
    let ch = u32(at.z);
    var best = -3.4028235e38;
    for (var ky = 0u; ky < p(7u); ky++) {
        let iy = window_input(at.x, ky, 0u);
        if iy < 0 || iy >= ih {
            continue;
        }
        for (var kx = 0u; kx < p(8u); kx++) {
            let ix = window_input(at.y, kx, 1u);
            if ix < 0 || ix >= iw {
                continue;
            }
            best = max(best, x0[u32(iy * iw + ix) * c + ch]);
        }
    }
    out[e] = best;
}

// 13: activation.
@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    out[e] = activate(x0[e] + x1[e], p(13u));
}

// 1-4: input shape, 5-8: output shape, 9-12: padding before, per dimension.
@compute @workgroup_size(64)
fn pad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    var rest = e;
    var src = 0u;
    var inside = true;
    var stride = 1u;
    for (var d = 3i; d >= 0; d--) {
        let k = u32(d);
        let o = rest % p(5u + k);
        rest = rest / p(5u + k);
        let before = p(9u + k);
        if o < before || o - before >= p(1u + k) {
            inside = false;
        } else {
            src += (o - before) * stride;
        }
        stride *= p(1u + k);
    }
    out[e] = select(0.0, x0[src], inside);
}

// Half-pixel-centre source row (or column) of output `o`: (low, high, fraction).
fn resize_coord(o: u32, size: u32, out_size: u32) -> vec3<f32> {
    let scale = f32(size) / f32(out_size);
    let s = (f32(o) + 0.5) * scale - 0.5;
    let lo = min(u32(max(floor(s), 0.0)), size - 1u);
    let hi = min(u32(max(ceil(s), 0.0)), size - 1u);
    return vec3<f32>(f32(lo), f32(hi), s - f32(u32(max(floor(s), 0.0))));
}

// 1 ih, 2 iw, 3 channels, 4 oh, 5 ow.
@compute @workgroup_size(64)
fn resize(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let iw = p(2u);
    let c = p(3u);
    let ow = p(5u);
    let ch = e % c;
    let pix = e / c;
    let ys = resize_coord(pix / ow, p(1u), p(4u));
    let xs = resize_coord(pix % ow, iw, ow);
    let y0 = u32(ys.x);
    let y1 = u32(ys.y);
    let x0_ = u32(xs.x);
    let x1_ = u32(xs.y);
    let fy = ys.z;
    let fx = xs.z;
    let a = x0[(y0 * iw + x0_) * c + ch];
    let bb = x0[(y1 * iw + x0_) * c + ch];
    let cc = x0[(y0 * iw + x1_) * c + ch];
    let d = x0[(y1 * iw + x1_) * c + ch];
    out[e] = a * ((1.0 - fy) * (1.0 - fx)) + bb * (fy * (1.0 - fx)) + cc * ((1.0 - fy) * fx) + d * (fy * fx);
}

// 1 ih, 2 iw, 3 input channels, 4 block.
@compute @workgroup_size(64)
fn depth_to_space(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let iw = p(2u);
    let bs = p(4u);
    let co = p(3u) / (bs * bs);
    let ow = iw * bs;
    let ch = e % co;
    let pix = e / co;
    let oy = pix / ow;
    let ox = pix % ow;
    let src = ((oy / bs) * iw + ox / bs) * p(3u) + ((oy % bs) * bs + ox % bs) * co + ch;
    out[e] = x0[src];
}

// Copies x0 into a part of the output (CONCATENATION, one dispatch per input; RESHAPE):
// 1 rows, 2 values per row of x0, 3 values per row of the output, 4 offset in an output row.
// p(0) is rows x values per row of x0.
@compute @workgroup_size(64)
fn copy_into(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let chunk = p(2u);
    out[(e / chunk) * p(3u) + p(4u) + e % chunk] = x0[e];
}

@compute @workgroup_size(64)
fn logistic(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = index(id, groups);
    if e >= p(0u) {
        return;
    }
    let v = x0[e];
    if v >= 0.0 {
        out[e] = 1.0 / (1.0 + exp(-v));
    } else {
        let t = exp(v);
        out[e] = t / (1.0 + t);
    }
}
