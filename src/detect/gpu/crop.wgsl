// The affine warp of src/detect/image.rs (`warp`, `sample`) reading a texture: output pixel
// centre (u + 0.5, v + 0.5) maps to origin + (u + 0.5) du + (v + 0.5) dv in image pixels,
// bilinear between the texels' 8-bit values, each value scaled as b * scale + offset.
// Output NHWC [1, S, S, 3].

struct Crop {
    origin: vec2<f32>,
    du: vec2<f32>,
    dv: vec2<f32>,
    scale: f32,
    offset: f32,
    // The output's side in pixels.
    size: u32,
    // 0: black outside the image, 1: the nearest edge texel.
    replicate: u32,
    // 1 when the texture is sRGB (textureLoad decodes it; the bytes are wanted).
    srgb: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> crop: Crop;
@group(0) @binding(1) var image: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn srgb_encode(c: f32) -> f32 {
    if c <= 0.0031308 {
        return c * 12.92;
    }
    return 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

// The texel's bytes as floats (0-255), black or clamped outside the image.
fn texel(x: i32, y: i32) -> vec3<f32> {
    let size = vec2<i32>(textureDimensions(image));
    var q = vec2<i32>(x, y);
    if crop.replicate == 1u {
        q = clamp(q, vec2<i32>(0, 0), size - vec2<i32>(1, 1));
    } else if x < 0 || y < 0 || x >= size.x || y >= size.y {
        return vec3<f32>(0.0);
    }
    var c = textureLoad(image, q, 0).rgb;
    if crop.srgb == 1u {
        c = vec3<f32>(srgb_encode(c.r), srgb_encode(c.g), srgb_encode(c.b));
    }
    return round(clamp(c, vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0);
}

@compute @workgroup_size(8, 8)
fn warp(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= crop.size || id.y >= crop.size {
        return;
    }
    let fu = f32(id.x) + 0.5;
    let fv = f32(id.y) + 0.5;
    let sx = crop.origin.x + fu * crop.du.x + fv * crop.dv.x - 0.5;
    let sy = crop.origin.y + fu * crop.du.y + fv * crop.dv.y - 0.5;
    let x0 = i32(floor(sx));
    let y0 = i32(floor(sy));
    let fx = sx - floor(sx);
    let fy = sy - floor(sy);
    let a = texel(x0, y0);
    let b = texel(x0 + 1, y0);
    let c = texel(x0, y0 + 1);
    let d = texel(x0 + 1, y0 + 1);
    let top = a + (b - a) * fx;
    let bottom = c + (d - c) * fx;
    let v = (top + (bottom - top) * fy) * crop.scale + crop.offset;
    let o = (id.y * crop.size + id.x) * 3u;
    out[o] = v.r;
    out[o + 1u] = v.g;
    out[o + 2u] = v.b;
}
