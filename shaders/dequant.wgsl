// Weights in their GGUF byte layout, read one value at a time. Included before the kernels that read weights
// (matmul.wgsl, embed.wgsl; before pieces.wgsl in matvec.wgsl and matmul-tiled.wgsl); WEIGHT_TYPE is the GGML
// type id, fixed per pipeline. Blocks of 18, 20, 22, 34, … bytes do not start on 4-byte boundaries, so every read
// goes through byte_at.

override WEIGHT_TYPE: u32;

@group(0) @binding(0) var<storage, read> weights: array<u32>;

fn byte_at(offset: u32) -> u32 {
  return (weights[offset >> 2u] >> ((offset & 3u) * 8u)) & 0xffu;
}

fn u16_at(offset: u32) -> u32 {
  return byte_at(offset) | (byte_at(offset + 1u) << 8u);
}

/** The 16 bits at an even byte offset. */
fn half_word(offset: u32) -> u32 {
  return (weights[offset >> 2u] >> ((offset & 2u) * 8u)) & 0xffffu;
}

/**
 * An f16 given by its bits. Subnormal halves are decoded by hand: GPUs and SwiftShader may flush them to zero in
 * unpack2x16float, and small models have block scales that small.
 */
fn half_to_f32(bits: u32) -> f32 {
  if ((bits & 0x7c00u) == 0u) {
    let magnitude = f32(bits & 0x3ffu) * 5.9604645e-8; // 2^-24
    return select(magnitude, -magnitude, (bits & 0x8000u) != 0u);
  }
  return unpack2x16float(bits).x;
}

fn f16_at(offset: u32) -> f32 {
  return half_to_f32(u16_at(offset));
}

fn i8_at(offset: u32) -> f32 {
  return f32(bitcast<i32>(byte_at(offset) << 24u) >> 24u);
}

/** 4-bit code `i` (0..31) of a 32-value block whose 16 code bytes start at `codes`: low nibbles first. */
fn nibble32(codes: u32, i: u32) -> u32 {
  return (byte_at(codes + (i & 15u)) >> (4u * (i >> 4u))) & 0xfu;
}

/** Q4_K / Q5_K: 6-bit scale and min of group j from the 12 packed bytes at `packed`. */
fn k4_scale_min(packed: u32, j: u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(byte_at(packed + j) & 63u), f32(byte_at(packed + j + 4u) & 63u));
  }
  let nibbles = byte_at(packed + j + 4u);
  let scale = (nibbles & 0xfu) | ((byte_at(packed + j - 4u) >> 6u) << 4u);
  let min = (nibbles >> 4u) | ((byte_at(packed + j) >> 6u) << 4u);
  return vec2<f32>(f32(scale), f32(min));
}

/** Value `col` of the row whose bytes start at `row_start`. */
fn weight_at(row_start: u32, col: u32) -> f32 {
  switch (WEIGHT_TYPE) {
    // F32, F16 and BF16 rows start on 4- and 2-byte boundaries: whole words, no byte extraction.
    case 0u: { return bitcast<f32>(weights[(row_start >> 2u) + col]); } // F32
    case 1u: { return half_to_f32(half_word(row_start + col * 2u)); } // F16
    case 30u: { return bitcast<f32>(half_word(row_start + col * 2u) << 16u); } // BF16
    case 2u: { // Q4_0: f16 d, 16 bytes of nibbles
      let b = row_start + (col / 32u) * 18u;
      return f16_at(b) * (f32(nibble32(b + 2u, col % 32u)) - 8.0);
    }
    case 3u: { // Q4_1: f16 d, f16 m, 16 bytes of nibbles
      let b = row_start + (col / 32u) * 20u;
      return f16_at(b) * f32(nibble32(b + 4u, col % 32u)) + f16_at(b + 2u);
    }
    case 6u: { // Q5_0: f16 d, 32 fifth bits, 16 bytes of nibbles
      let b = row_start + (col / 32u) * 22u;
      let i = col % 32u;
      let high = (byte_at(b + 2u + i / 8u) >> (i % 8u)) & 1u;
      return f16_at(b) * (f32(nibble32(b + 6u, i) | (high << 4u)) - 16.0);
    }
    case 7u: { // Q5_1: f16 d, f16 m, 32 fifth bits, 16 bytes of nibbles
      let b = row_start + (col / 32u) * 24u;
      let i = col % 32u;
      let high = (byte_at(b + 4u + i / 8u) >> (i % 8u)) & 1u;
      return f16_at(b) * f32(nibble32(b + 8u, i) | (high << 4u)) + f16_at(b + 2u);
    }
    case 8u: { // Q8_0: f16 d, 32 signed bytes
      let b = row_start + (col / 32u) * 34u;
      return f16_at(b) * i8_at(b + 2u + col % 32u);
    }
    case 10u: { // Q2_K: 16 scale/min bytes, 64 bytes of 2-bit codes, f16 d, f16 dmin
      let b = row_start + (col / 256u) * 84u;
      let e = col % 256u;
      let code = (byte_at(b + 16u + 32u * (e >> 7u) + (e & 31u)) >> (2u * ((e >> 5u) & 3u))) & 3u;
      let sm = byte_at(b + e / 16u);
      return f16_at(b + 80u) * f32(sm & 0xfu) * f32(code) - f16_at(b + 82u) * f32(sm >> 4u);
    }
    case 11u: { // Q3_K: 32 bytes of high bits, 64 bytes of 2-bit codes, 12 bytes of 6-bit scales, f16 d
      let b = row_start + (col / 256u) * 110u;
      let e = col % 256u;
      let group = e / 16u;
      let low = (byte_at(b + 96u + (group & 7u)) >> (4u * (group >> 3u))) & 0xfu;
      let high = (byte_at(b + 104u + (group & 3u)) >> (2u * (group >> 2u))) & 3u;
      let scale = f32(i32(low | (high << 4u)) - 32);
      let code = i32((byte_at(b + 32u + 32u * (e >> 7u) + (e & 31u)) >> (2u * ((e >> 5u) & 3u))) & 3u);
      let has_high = (byte_at(b + (e & 31u)) >> (e >> 5u)) & 1u;
      return f16_at(b + 108u) * scale * f32(code - select(4, 0, has_high == 1u));
    }
    case 12u, 13u: { // Q4_K (144 bytes), Q5_K (176 bytes, 32 bytes of fifth bits before the nibbles)
      let five = WEIGHT_TYPE == 13u;
      let b = row_start + (col / 256u) * select(144u, 176u, five);
      let e = col % 256u;
      let group = e / 32u;
      let sm = k4_scale_min(b + 4u, group);
      let nibbles = b + select(16u, 48u, five);
      var code = (byte_at(nibbles + 32u * (e / 64u) + (e & 31u)) >> (4u * (group & 1u))) & 0xfu;
      if (five) {
        code |= ((byte_at(b + 16u + (e & 31u)) >> group) & 1u) << 4u;
      }
      return f16_at(b) * sm.x * f32(code) - f16_at(b + 2u) * sm.y;
    }
    case 14u: { // Q6_K: 128 bytes of low nibbles, 64 bytes of high 2 bits, 16 signed scales, f16 d
      let b = row_start + (col / 256u) * 210u;
      let e = col % 256u;
      let half = e >> 7u;
      let quarter = (e >> 5u) & 3u;
      let l = e & 31u;
      let low = (byte_at(b + 64u * half + l + 32u * (quarter & 1u)) >> (4u * (quarter >> 1u))) & 0xfu;
      let high = (byte_at(b + 128u + 32u * half + l) >> (2u * quarter)) & 3u;
      let scale = i8_at(b + 192u + 8u * half + l / 16u + 2u * quarter);
      return f16_at(b + 208u) * scale * f32(i32(low | (high << 4u)) - 32);
    }
    default: { return 0.0; }
  }
}
