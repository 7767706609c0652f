// Activations rounded the way llama.cpp's CPU matmuls see them, before a product with a weight of the given kind:
// quantized weights meet activations quantized to 8 bits per block (Q8_0 with an f16 scale for the 32-value formats,
// Q8_K with an f32 scale for the k-quants), F16 and BF16 weights meet activations rounded to that type. The result
// is written dequantized (f32), so the matmul kernel stays one for every case. One invocation per block. round()
// rounds half to even, as the SIMD quantizers of ggml do.

struct Params {
  n: u32,
  /** 0: Q8_0, 1: Q8_K, 2: f16, 3: bf16. */
  mode: u32,
  block: u32,
  in_offset: u32,
  out_offset: u32,
  groups_x: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

/** v rounded to f16 precision; values below the smallest normal half are rounded by hand, as the GPU may flush them. */
fn to_f16(v: f32) -> f32 {
  if (abs(v) < 6.1035156e-5) { // 2^-14
    return round(v * 16777216.0) / 16777216.0; // multiples of 2^-24
  }
  return unpack2x16float(pack2x16float(vec2<f32>(v, 0.0))).x;
}

fn to_bf16(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  return bitcast<f32>(((bits + 0x7fffu + ((bits >> 16u) & 1u)) >> 16u) << 16u);
}

@compute @workgroup_size(64)
fn quantize_activations(@builtin(global_invocation_id) id: vec3<u32>) {
  let first = (id.x + id.y * params.groups_x * 64u) * params.block;
  if (first >= params.n) { return; }
  let src = params.in_offset + first;
  let dst = params.out_offset + first;
  // Rows of f16 and bf16 weights need not fill the last block of 32.
  let count = min(params.block, params.n - first);
  switch (params.mode) {
    case 0u: {
      var amax = 0.0;
      for (var i = 0u; i < count; i++) { amax = max(amax, abs(x[src + i])); }
      let inverse = select(0.0, 127.0 / amax, amax != 0.0);
      let stored = to_f16(amax / 127.0);
      for (var i = 0u; i < count; i++) { out[dst + i] = round(x[src + i] * inverse) * stored; }
    }
    case 1u: {
      // The signed value of largest magnitude maps to -127.
      var extreme = 0.0;
      for (var i = 0u; i < count; i++) {
        if (abs(x[src + i]) > abs(extreme)) { extreme = x[src + i]; }
      }
      if (extreme == 0.0) {
        for (var i = 0u; i < count; i++) { out[dst + i] = 0.0; }
        return;
      }
      let inverse = -127.0 / extreme;
      let d = 1.0 / inverse;
      for (var i = 0u; i < count; i++) { out[dst + i] = min(127.0, round(inverse * x[src + i])) * d; }
    }
    case 2u: {
      for (var i = 0u; i < count; i++) { out[dst + i] = to_f16(x[src + i]); }
    }
    default: {
      for (var i = 0u; i < count; i++) { out[dst + i] = to_bf16(x[src + i]); }
    }
  }
}
