// Weights in their GGUF byte layout, read a piece of 8 at a time from whole u32 words: included after dequant.wgsl
// (whose weight_at is the specification of every value here) by matvec.wgsl and matmul-tiled.wgsl. A piece is a
// quarter of a 32-value block (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), an eighth of a 32-value group of a k-quant
// super-block, or 8 floats; its scales are read once and its codes as whole words, unpacked with vector operations.
//
// Every block size is even (18, 20, 22, 24, 34, 84, 110, 144, 176, 210 bytes) and so is every field inside a block,
// so each read starts on a 2-byte boundary at least: word_at_even joins two words where it does not start on a
// 4-byte one. Blocks whose size is a multiple of 4 keep rows, and so all their fields, on word boundaries: those are
// indexed directly. Values are exactly weight_at's, from the same f32 operations.

/** Weights per piece. */
const PIECE = 8u;

/** The 8 weights of a piece, as two quads of consecutive columns (see piece_columns). */
alias PieceWeights = array<vec4<f32>, 2>;

/** The 4 bytes at an even byte offset, little-endian. */
fn word_at_even(offset: u32) -> u32 {
  let i = offset >> 2u;
  let low = weights[i];
  return select((low >> 16u) | (weights[i + 1u] << 16u), low, (offset & 2u) == 0u);
}

/** The 4 bytes at an even byte offset, known to be a multiple of 4 where `aligned`: one load instead of two. */
fn word_at(offset: u32, aligned: bool) -> u32 {
  if (aligned) { return weights[offset >> 2u]; }
  return word_at_even(offset);
}

fn bytes_of(word: u32) -> vec4<u32> {
  return (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

fn signed_bytes_of(word: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(word) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

/** Bit `bit` of each of the 4 bytes of a word (the per-group bit planes of Q3_K and Q5_K). */
fn bit_of_bytes(word: u32, bit: u32) -> vec4<u32> {
  return (bytes_of(word) >> vec4<u32>(bit)) & vec4<u32>(1u);
}

/** Bits first … first+3 of a word (the fifth bits of Q5_0 and Q5_1, bit i for value i). */
fn four_bits(word: u32, first: u32) -> vec4<u32> {
  return (vec4<u32>(word >> first) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
}

/** The two f16 values of a word, low half first. */
fn halves_of(word: u32) -> vec2<f32> {
  return vec2<f32>(half_to_f32(word & 0xffffu), half_to_f32(word >> 16u));
}

/** Whether the type's 32-value blocks hold values 0–15 in the low nibbles of their code bytes and 16–31 in the high ones. */
fn splits_nibbles() -> bool {
  return WEIGHT_TYPE == 2u || WEIGHT_TYPE == 3u || WEIGHT_TYPE == 6u || WEIGHT_TYPE == 7u;
}

/** First columns of the two quads of piece `piece`: consecutive, but for the low and high nibbles of Q4_0 … Q5_1. */
fn piece_columns(piece: u32) -> vec2<u32> {
  if (splits_nibbles()) {
    let first = (piece / 4u) * 32u + 4u * (piece % 4u);
    return vec2<u32>(first, first + 16u);
  }
  return vec2<u32>(piece * PIECE, piece * PIECE + 4u);
}

fn piece_f32(row_start: u32, first: u32) -> PieceWeights {
  let i = (row_start >> 2u) + first;
  return PieceWeights(
    bitcast<vec4<f32>>(vec4<u32>(weights[i], weights[i + 1u], weights[i + 2u], weights[i + 3u])),
    bitcast<vec4<f32>>(vec4<u32>(weights[i + 4u], weights[i + 5u], weights[i + 6u], weights[i + 7u])),
  );
}

/** The two weights of a word of an F16 or BF16 row, low half first. */
fn weight_pair(word: u32) -> vec2<f32> {
  if (WEIGHT_TYPE == 30u) { return bitcast<vec2<f32>>(vec2<u32>(word << 16u, word & 0xffff0000u)); }
  return halves_of(word);
}

/** F16 or BF16 weights whose first value starts a word. */
fn piece_halves(row_start: u32, first: u32) -> PieceWeights {
  let i = (row_start + first * 2u) >> 2u;
  return PieceWeights(
    vec4<f32>(weight_pair(weights[i]), weight_pair(weights[i + 1u])),
    vec4<f32>(weight_pair(weights[i + 2u]), weight_pair(weights[i + 3u])),
  );
}

/**
 * Quarter k of a 32-value block of Q4_0 (18 bytes), Q4_1 (20), Q5_0 (22) or Q5_1 (24): f16 d; for Q4_1 and Q5_1 an
 * f16 min m; for Q5_0 and Q5_1 32 fifth bits (bit i: value i); then 16 bytes whose low nibbles are values 0–15 and
 * high nibbles values 16–31. Code bytes 4k … 4k+3 give values 4k … 4k+3 and 16+4k … 19+4k.
 */
fn piece_32(row_start: u32, piece: u32) -> PieceWeights {
  let with_min = WEIGHT_TYPE == 3u || WEIGHT_TYPE == 7u;
  let with_fifth_bits = WEIGHT_TYPE == 6u || WEIGHT_TYPE == 7u;
  let fifth_bits_at = select(2u, 4u, with_min);
  let codes_at = fifth_bits_at + select(0u, 4u, with_fifth_bits);
  let block_bytes = codes_at + 16u;
  let aligned = block_bytes % 4u == 0u;
  let b = row_start + (piece / 4u) * block_bytes;
  let k = piece % 4u;
  let d = half_to_f32(half_word(b));
  let codes = bytes_of(word_at(b + codes_at + 4u * k, aligned));
  var first_quad = codes & vec4<u32>(0xfu);
  var second_quad = codes >> vec4<u32>(4u);
  if (with_fifth_bits) {
    let fifth_bits = word_at(b + fifth_bits_at, aligned);
    first_quad |= four_bits(fifth_bits, 4u * k) << vec4<u32>(4u);
    second_quad |= four_bits(fifth_bits, 16u + 4u * k) << vec4<u32>(4u);
  }
  if (with_min) {
    let m = half_to_f32(half_word(b + 2u));
    return PieceWeights(d * vec4<f32>(first_quad) + m, d * vec4<f32>(second_quad) + m);
  }
  let centre = select(8.0, 16.0, with_fifth_bits);
  return PieceWeights(d * (vec4<f32>(first_quad) - centre), d * (vec4<f32>(second_quad) - centre));
}

/** Quarter k of a Q8_0 block (f16 d, then 32 signed bytes): values 8k … 8k+7. */
fn piece_q8_0(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 4u) * 34u;
  let d = half_to_f32(half_word(b));
  let codes = b + 2u + 8u * (piece % 4u);
  return PieceWeights(d * signed_bytes_of(word_at_even(codes)), d * signed_bytes_of(word_at_even(codes + 4u)));
}

/**
 * Values 8k … 8k+7 of group `group` (32 values) of a Q2_K super-block of 84 bytes: 16 bytes of 4-bit scales (low
 * nibbles) and mins (high nibbles), one of each per 16 values; 2 runs of 32 bytes whose bit pairs 0–3 hold groups
 * 4h … 4h+3 of half h; f16 d; f16 dmin.
 */
fn piece_q2_k(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 32u) * 84u;
  let group = (piece / 4u) % 8u;
  let k = piece % 4u;
  let scale_min = byte_at(b + 2u * group + k / 2u);
  // Super-blocks of 84 bytes keep rows, and so every field, on word boundaries.
  let d_dmin = halves_of(weights[(b + 80u) >> 2u]);
  let scale = d_dmin.x * f32(scale_min & 0xfu);
  let offset = d_dmin.y * f32(scale_min >> 4u);
  let codes = (b + 16u + 32u * (group / 4u) + 8u * k) >> 2u;
  let shift = vec4<u32>(2u * (group % 4u));
  let first_quad = (bytes_of(weights[codes]) >> shift) & vec4<u32>(3u);
  let second_quad = (bytes_of(weights[codes + 1u]) >> shift) & vec4<u32>(3u);
  return PieceWeights(scale * vec4<f32>(first_quad) - offset, scale * vec4<f32>(second_quad) - offset);
}

/**
 * Four 3-bit Q3_K codes of group `group`: bit pairs from the code bytes and high bits from the bit-plane bytes at
 * these even byte offsets; a clear high bit subtracts 4.
 */
fn q3_k_codes(code_bytes: u32, high_bytes: u32, group: u32) -> vec4<f32> {
  let low = (bytes_of(word_at_even(code_bytes)) >> vec4<u32>(2u * (group % 4u))) & vec4<u32>(3u);
  let high = bit_of_bytes(word_at_even(high_bytes), group);
  return vec4<f32>(vec4<i32>(low | (high << vec4<u32>(2u))) - 4);
}

/**
 * Values 8k … 8k+7 of group `group` (32 values) of a Q3_K super-block of 110 bytes: 32 bytes whose bit g is the
 * high bit of a value of group g; 2 runs of 32 bytes whose bit pairs 0–3 hold groups 4h … 4h+3 of half h; 12 bytes
 * of 6-bit scales centred on 32, one per 16 values (low nibbles in the first 8 bytes, high bit pairs in the last 4);
 * f16 d.
 */
fn piece_q3_k(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 32u) * 110u;
  let group = (piece / 4u) % 8u;
  let k = piece % 4u;
  let sixteen = 2u * group + k / 2u;
  let scale_low = (byte_at(b + 96u + (sixteen & 7u)) >> (4u * (sixteen >> 3u))) & 0xfu;
  let scale_high = (byte_at(b + 104u + (sixteen & 3u)) >> (2u * (sixteen >> 2u))) & 3u;
  let scale = half_to_f32(half_word(b + 108u)) * f32(i32(scale_low | (scale_high << 4u)) - 32);
  let code_bytes = b + 32u + 32u * (group / 4u) + 8u * k;
  let high_bytes = b + 8u * k;
  return PieceWeights(
    scale * q3_k_codes(code_bytes, high_bytes, group),
    scale * q3_k_codes(code_bytes + 4u, high_bytes + 4u, group),
  );
}

/**
 * Values 8k … 8k+7 of group `group` (32 values) of a Q4_K (144 bytes) or Q5_K (176 bytes) super-block: f16 d, f16
 * dmin, 12 bytes of 6-bit scales and mins; for Q5_K 32 bytes whose bit g is the fifth bit of a value of group g;
 * then 4 runs of 32 bytes, whose low nibbles hold the even groups and high nibbles the odd ones.
 */
fn piece_q4_k_q5_k(row_start: u32, piece: u32) -> PieceWeights {
  let five = WEIGHT_TYPE == 13u;
  let b = row_start + (piece / 32u) * select(144u, 176u, five);
  let group = (piece / 4u) % 8u;
  let k = piece % 4u;
  let scale_min = k4_scale_min(b + 4u, group);
  let scale = half_to_f32(half_word(b)) * scale_min.x;
  let offset = half_to_f32(half_word(b + 2u)) * scale_min.y;
  // Super-blocks of 144 and 176 bytes keep rows, and so every field, on word boundaries.
  let codes = (b + select(16u, 48u, five) + 32u * (group / 2u) + 8u * k) >> 2u;
  let shift = vec4<u32>(4u * (group & 1u));
  var first_quad = (bytes_of(weights[codes]) >> shift) & vec4<u32>(0xfu);
  var second_quad = (bytes_of(weights[codes + 1u]) >> shift) & vec4<u32>(0xfu);
  if (five) {
    let fifth_bits = (b + 16u + 8u * k) >> 2u;
    first_quad |= bit_of_bytes(weights[fifth_bits], group) << vec4<u32>(4u);
    second_quad |= bit_of_bytes(weights[fifth_bits + 1u], group) << vec4<u32>(4u);
  }
  return PieceWeights(scale * vec4<f32>(first_quad) - offset, scale * vec4<f32>(second_quad) - offset);
}

/** Four 6-bit Q6_K codes from the low nibbles and high bit pairs at these even byte offsets, centred on 0. */
fn q6_k_codes(low_bytes: u32, low_shift: u32, high_bytes: u32, high_shift: u32) -> vec4<f32> {
  let low = (bytes_of(word_at_even(low_bytes)) >> vec4<u32>(low_shift)) & vec4<u32>(0xfu);
  let high = (bytes_of(word_at_even(high_bytes)) >> vec4<u32>(high_shift)) & vec4<u32>(3u);
  return vec4<f32>(vec4<i32>(low | (high << vec4<u32>(4u))) - 32);
}

/**
 * Values 8k … 8k+7 of group `group` (32 values) of a Q6_K super-block of 210 bytes: 128 bytes of low nibbles, 64
 * bytes of high 2-bit pairs, 16 signed scales (one per 16 values), f16 d. Group g = 4·half + quarter.
 */
fn piece_q6_k(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 32u) * 210u;
  let group = (piece / 4u) % 8u;
  let k = piece % 4u;
  let half = group / 4u;
  let quarter = group % 4u;
  let scale = half_to_f32(half_word(b + 208u)) * i8_at(b + 192u + 8u * half + 2u * quarter + k / 2u);
  let low_bytes = b + 64u * half + 32u * (quarter & 1u) + 8u * k;
  let high_bytes = b + 128u + 32u * half + 8u * k;
  let low_shift = 4u * (quarter >> 1u);
  let high_shift = 2u * quarter;
  return PieceWeights(
    scale * q6_k_codes(low_bytes, low_shift, high_bytes, high_shift),
    scale * q6_k_codes(low_bytes + 4u, low_shift, high_bytes + 4u, high_shift),
  );
}

/**
 * Piece `piece` of the row whose bytes start at `row_start`, at the columns piece_columns gives; it must be whole
 * (8 columns inside the row), which the quantized types always are.
 */
fn piece_weights(row_start: u32, piece: u32) -> PieceWeights {
  let first = piece * PIECE;
  switch (WEIGHT_TYPE) {
    case 0u: { return piece_f32(row_start, first); }
    case 2u, 3u, 6u, 7u: { return piece_32(row_start, piece); }
    case 8u: { return piece_q8_0(row_start, piece); }
    case 10u: { return piece_q2_k(row_start, piece); }
    case 11u: { return piece_q3_k(row_start, piece); }
    case 12u, 13u: { return piece_q4_k_q5_k(row_start, piece); }
    case 14u: { return piece_q6_k(row_start, piece); }
    // F16 and BF16 rows of odd length alternate between word alignments; the others go value by value.
    case 1u, 30u: {
      if (((row_start + first * 2u) & 3u) == 0u) { return piece_halves(row_start, first); }
    }
    default: {}
  }
  var values: PieceWeights;
  for (var i = 0u; i < PIECE; i++) { values[i / 4u][i % 4u] = weight_at(row_start, first + i); }
  return values;
}
