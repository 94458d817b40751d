// Mode B image shader: float image tiles → limits → stretch → bias/contrast → colormap → blend.
//
// Mirrors ch_render::to_rgba_gpu and ch_render::blend::composite (the CPU reference the
// end-to-end tests compare read-back pixels with). Every visual change is a uniform change: the
// float data is uploaded once per plane, the colormaps once per page.

// The pipeline is specialised per layer count, scale and blend mode (pipeline-overridable
// constants, see gpu/pipeline.rs): the driver folds the branches away, so a fragment runs only
// its own stretch and blend. A change of limits, colormap, bias/contrast, gamma, opacity or
// NaN colour is a uniform change; a change of scale or blend mode selects another (cached)
// pipeline. With GENERIC set they come from the uniforms instead: one pipeline for every
// setting, drawn while a specialised one compiles (and the benchmark's baseline).
override GENERIC: bool = false;
override LAYERS: u32 = 1u;
override SCALE_0: u32 = 0u;
override SCALE_1: u32 = 0u;
override SCALE_2: u32 = 0u;
override SCALE_3: u32 = 0u;
override BLEND_0: u32 = 0u;
override BLEND_1: u32 = 0u;
override BLEND_2: u32 = 0u;
override BLEND_3: u32 = 0u;

struct Layer {
    // vmin, vmax, gamma (power scale), opacity
    range: vec4<f32>,
    // bias, contrast, unused, unused
    shape: vec4<f32>,
    // scale code (pipeline key), colormap row, invert (0/1), blend code (pipeline key)
    codes: vec4<u32>,
    nan_rgba: vec4<f32>,
};

struct Globals {
    // image pixel at the canvas centre (xy), clip units per image pixel (zw)
    view: vec4<f32>,
    // background colour the layers are composited onto
    background: vec4<f32>,
    // layer count (pipeline key), resolution level (0 = full; k = 1/2^k when zoomed out), unused,
    // unused
    counts: vec4<u32>,
    layers: array<Layer, 4>,
};

struct Tile {
    // first image pixel (xy) and size in pixels (zw)
    rect: vec4<f32>,
};

@group(0) @binding(0) var<uniform> g: Globals;
@group(0) @binding(1) var lut: texture_2d<f32>;
@group(0) @binding(2) var histeq: texture_2d<f32>;
@group(1) @binding(0) var<uniform> tile: Tile;
@group(1) @binding(1) var img0: texture_2d<f32>;
@group(1) @binding(2) var img1: texture_2d<f32>;
@group(1) @binding(3) var img2: texture_2d<f32>;
@group(1) @binding(4) var img3: texture_2d<f32>;

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    // image pixel coordinate (pixel centres on integers)
    @location(0) pix: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
    );
    let c = corners[i];
    let pix = tile.rect.xy - vec2<f32>(0.5, 0.5) + c * tile.rect.zw;
    var out: VsOut;
    out.clip = vec4<f32>((pix - g.view.xy) * g.view.zw, 0.0, 1.0);
    out.pix = pix;
    return out;
}

fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// The texel of the resolution level chosen for the zoom (level 0 = the data; level k = means of
// 2^k × 2^k blocks of finite pixels) nearest to this fragment; the same for every layer.
fn texel(pix: vec2<f32>, level: i32) -> vec2<i32> {
    let local = vec2<i32>(floor(pix - tile.rect.xy + vec2<f32>(0.5, 0.5)));
    var size = vec2<i32>(tile.rect.zw);
    var t = local;
    if level > 0 {
        size = max(size >> vec2<u32>(u32(level)), vec2<i32>(1, 1));
        t = local >> vec2<u32>(u32(level));
    }
    return clamp(t, vec2<i32>(0, 0), size - vec2<i32>(1, 1));
}

fn stretch(code: u32, x: f32, gamma: f32, layer: u32) -> f32 {
    switch code {
        case 1u: { return log(1000.0 * x + 1.0) / log(1001.0); }
        case 2u: { return sqrt(x); }
        case 3u: { return x * x; }
        case 4u: {
            if x <= 0.0 {
                return 0.0;
            }
            return exp2(gamma * log2(x));
        }
        case 5u: { return asinh(x / 0.1) / asinh(10.0); }
        case 6u: { return sinh(x * 3.0) / sinh(3.0); }
        case 7u: {
            let n = textureDimensions(histeq).x;
            let pos = x * f32(n - 1u);
            let i0 = u32(floor(pos));
            let i1 = min(i0 + 1u, n - 1u);
            let a = textureLoad(histeq, vec2<u32>(i0, layer), 0).r;
            let b = textureLoad(histeq, vec2<u32>(i1, layer), 0).r;
            return a + (b - a) * (pos - f32(i0));
        }
        default: { return x; }
    }
}

fn colour(layer: u32, scale: u32, v: f32) -> vec4<f32> {
    let p = g.layers[layer];
    if !is_finite(v) {
        return p.nan_rgba;
    }
    let span = p.range.y - p.range.x;
    var x = 0.0;
    if span != 0.0 {
        x = clamp((v - p.range.x) / span, 0.0, 1.0);
    }
    var s = clamp(stretch(scale, x, p.range.z, layer), 0.0, 1.0);
    s = clamp((s - p.shape.x) * p.shape.y + 0.5, 0.0, 1.0);
    if p.codes.z == 1u {
        s = 1.0 - s;
    }
    let index = min(u32(floor(s * 256.0)), 255u);
    return vec4<f32>(textureLoad(lut, vec2<u32>(index, p.codes.y), 0).rgb, 1.0);
}

fn blend_channel(mode: u32, d: vec3<f32>, s: vec3<f32>) -> vec3<f32> {
    switch mode {
        case 1u: { return min(d + s, vec3<f32>(1.0)); }
        case 2u: { return d + s - d * s; }
        case 3u: { return d * s; }
        case 4u: { return max(d, s); }
        default: { return s; }
    }
}

// Composites one layer's value over what the layers below produced.
fn over(dst: vec4<f32>, layer: u32, scale: u32, blend: u32, v: f32) -> vec4<f32> {
    let codes = g.layers[layer].codes;
    let src = colour(layer, select(scale, codes.x, GENERIC), v);
    let a = g.layers[layer].range.w * src.a;
    let b = blend_channel(select(blend, codes.w, GENERIC), dst.rgb, src.rgb);
    return vec4<f32>(dst.rgb + (b - dst.rgb) * a, a + dst.a * (1.0 - a));
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let level = i32(g.counts.y);
    let t = texel(in.pix, level);
    let n = select(LAYERS, g.counts.x, GENERIC);
    var dst = g.background;
    if n > 0u {
        dst = over(dst, 0u, SCALE_0, BLEND_0, textureLoad(img0, t, level).r);
    }
    if n > 1u {
        dst = over(dst, 1u, SCALE_1, BLEND_1, textureLoad(img1, t, level).r);
    }
    if n > 2u {
        dst = over(dst, 2u, SCALE_2, BLEND_2, textureLoad(img2, t, level).r);
    }
    if n > 3u {
        dst = over(dst, 3u, SCALE_3, BLEND_3, textureLoad(img3, t, level).r);
    }
    return dst;
}
