// out[t][r] = Σ_c weight[r][c] · x[t][c] for a few tokens (decode), on GPUs: one workgroup per ROWS_PER_WORKGROUP
// output rows, its lanes splitting the rows into pieces of 8 weights (a quarter of a Q4_0/Q8_0 block, an eighth of
// a 32-value group of a k-quant super-block, 8 floats). Lane l takes pieces l, l + LANES, …, so that the lanes of a
// subgroup read one contiguous stretch of each row; per piece, a lane loads the tokens' activations once and decodes
// the piece of every row of the workgroup (independent loads, in flight together). The common types are decoded
// from whole u32 words. The lanes' partial sums are then added across the workgroup by sum_over_workgroup
// (matvec-reduce-subgroups.wgsl or matvec-reduce-shared.wgsl, prepended along with dequant.wgsl and
// matmul-params.wgsl). Weight values
// are exactly weight_at's; only the order of the sums differs from matmul.wgsl.

const LANES = 64u;
const ROWS_PER_WORKGROUP = 4u;
/** Weights per piece: one lane's unit of work. */
const PIECE = 8u;
const MAX_TOKENS = 4u;

/** Tokens of this pipeline (1 … 4): a constant, so that the per-token code below folds away. */
override TOKENS: u32 = 1u;

/** Per-token partial sums of each row of the workgroup (component t: token t). */
alias RowSums = array<vec4<f32>, ROWS_PER_WORKGROUP>;
/** The 8 weights of a piece, as two quads of consecutive columns (see piece_columns). */
alias PieceWeights = array<vec4<f32>, 2>;

/** Activations read four at a time where they start on a multiple of 4 (the backend sizes buffers in 16 bytes). */
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn x_at(i: u32) -> f32 {
  return x[i >> 2u][i & 3u];
}

/** x[t][c … c+3] of token t. */
fn x_quad(t: u32, c: u32) -> vec4<f32> {
  let i = params.x_offset + t * params.cols + c;
  // The same branch for every lane: c is a multiple of 4, and rows of 4·k values keep the alignment of the first.
  if ((i & 3u) == 0u) { return x[i >> 2u]; }
  return vec4<f32>(x_at(i), x_at(i + 1u), x_at(i + 2u), x_at(i + 3u));
}

/** One weight of column c times each token's activation there. */
fn scale_tokens(w: f32, c: u32) -> vec4<f32> {
  let i = params.x_offset + c;
  var sums = vec4<f32>(w * x_at(i), 0.0, 0.0, 0.0);
  if (TOKENS > 1u) { sums.y = w * x_at(i + params.cols); }
  if (TOKENS > 2u) { sums.z = w * x_at(i + 2u * params.cols); }
  if (TOKENS > 3u) { sums.w = w * x_at(i + 3u * params.cols); }
  return sums;
}

/** The 4 bytes at an even byte offset, little-endian: blocks of 18, 34 and 210 bytes start on 2-byte boundaries. */
fn word_at_even(offset: u32) -> u32 {
  let i = offset >> 2u;
  let low = weights[i];
  return select((low >> 16u) | (weights[i + 1u] << 16u), low, (offset & 2u) == 0u);
}

fn bytes_of(word: u32) -> vec4<u32> {
  return (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

fn signed_bytes_of(word: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(word) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

fn halves_of(word: u32) -> vec2<f32> {
  return vec2<f32>(half_to_f32(word & 0xffffu), half_to_f32(word >> 16u));
}

/** Weights first … first+count−1 (count ≤ PIECE) one value at a time through weight_at: every type, any alignment. */
fn piece_by_value(row_start: u32, first: u32, count: u32) -> vec4<f32> {
  var sums = vec4<f32>(0.0);
  for (var c = first; c < first + count; c++) {
    sums += scale_tokens(weight_at(row_start, c), c);
  }
  return sums;
}

/** First columns of the two quads of piece `piece`: consecutive, but for Q4_0's low and high nibbles. */
fn piece_columns(piece: u32) -> vec2<u32> {
  if (WEIGHT_TYPE == 2u) {
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

/** F16 weights whose first value starts a word. */
fn piece_f16(row_start: u32, first: u32) -> PieceWeights {
  let i = (row_start + first * 2u) >> 2u;
  return PieceWeights(
    vec4<f32>(halves_of(weights[i]), halves_of(weights[i + 1u])),
    vec4<f32>(halves_of(weights[i + 2u]), halves_of(weights[i + 3u])),
  );
}

/**
 * Quarter k of a Q4_0 block (f16 d, then 16 bytes whose low nibbles are values 0–15 and high nibbles values
 * 16–31): code bytes 4k … 4k+3, values 4k … 4k+3 and 16+4k … 19+4k.
 */
fn piece_q4_0(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 4u) * 18u;
  let d = half_to_f32(half_word(b));
  let codes = bytes_of(word_at_even(b + 2u + 4u * (piece % 4u)));
  return PieceWeights(d * (vec4<f32>(codes & vec4<u32>(0xfu)) - 8.0), d * (vec4<f32>(codes >> vec4<u32>(4u)) - 8.0));
}

/** Quarter k of a Q8_0 block (f16 d, then 32 signed bytes): values 8k … 8k+7. */
fn piece_q8_0(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 4u) * 34u;
  let d = half_to_f32(half_word(b));
  let codes = b + 2u + 8u * (piece % 4u);
  return PieceWeights(d * signed_bytes_of(word_at_even(codes)), d * signed_bytes_of(word_at_even(codes + 4u)));
}

/**
 * Values 8k … 8k+7 of group `group` (32 values) of a Q4_K super-block: f16 d, f16 dmin, 12 bytes of 6-bit scales
 * and mins, then 4 runs of 32 bytes, whose low nibbles hold the even groups and high nibbles the odd ones.
 */
fn piece_q4_k(row_start: u32, piece: u32) -> PieceWeights {
  let b = row_start + (piece / 32u) * 144u;
  let group = (piece / 4u) % 8u;
  let scale_min = k4_scale_min(b + 4u, group);
  let scale = half_to_f32(half_word(b)) * scale_min.x;
  let offset = half_to_f32(half_word(b + 2u)) * scale_min.y;
  // Super-blocks of 144 bytes keep rows, and so the code runs, on word boundaries.
  let codes = (b + 16u + 32u * (group / 2u) + 8u * (piece % 4u)) >> 2u;
  let shift = vec4<u32>(4u * (group & 1u));
  let low = (bytes_of(weights[codes]) >> shift) & vec4<u32>(0xfu);
  let high = (bytes_of(weights[codes + 1u]) >> shift) & vec4<u32>(0xfu);
  return PieceWeights(scale * vec4<f32>(low) - offset, scale * vec4<f32>(high) - offset);
}

/** Four 6-bit Q6_K codes from the low nibbles and high bit pairs at these even byte offsets, centred on 0. */
fn q6_k_codes(low_bytes: u32, low_shift: u32, high_bytes: u32, high_shift: u32) -> vec4<f32> {
  let low = (bytes_of(word_at_even(low_bytes)) >> vec4<u32>(low_shift)) & vec4<u32>(0xfu);
  let high = (bytes_of(word_at_even(high_bytes)) >> vec4<u32>(high_shift)) & vec4<u32>(3u);
  return vec4<f32>(vec4<i32>(low | (high << vec4<u32>(4u))) - 32);
}

/**
 * Values 8k … 8k+7 of group `group` (32 values) of a Q6_K super-block: 128 bytes of low nibbles, 64 bytes of high
 * 2-bit pairs, 16 signed scales (one per 16 values), f16 d. Group g = 4·half + quarter.
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

/** Piece `piece` (whole: 8 columns inside the row) of the row whose bytes start at `row_start`. */
fn piece_weights(row_start: u32, piece: u32) -> PieceWeights {
  let first = piece * PIECE;
  switch (WEIGHT_TYPE) {
    case 0u: { return piece_f32(row_start, first); }
    case 2u: { return piece_q4_0(row_start, piece); }
    case 8u: { return piece_q8_0(row_start, piece); }
    case 12u: { return piece_q4_k(row_start, piece); }
    case 14u: { return piece_q6_k(row_start, piece); }
    // F16 rows of odd length alternate between word alignments.
    case 1u: {
      if (((row_start + first * 2u) & 3u) == 0u) { return piece_f16(row_start, first); }
    }
    default: {}
  }
  var values: PieceWeights;
  for (var i = 0u; i < PIECE; i++) { values[i / 4u][i % 4u] = weight_at(row_start, first + i); }
  return values;
}

@compute @workgroup_size(LANES)
fn matvec(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let first_row = (group.x + group.y * params.groups_x) * ROWS_PER_WORKGROUP;
  if (first_row >= params.rows) { return; }
  var partial: RowSums;
  let whole_pieces = params.cols / PIECE;
  for (var piece = lane; piece < whole_pieces; piece += LANES) {
    let columns = piece_columns(piece);
    var activations: array<PieceWeights, MAX_TOKENS>;
    for (var t = 0u; t < TOKENS; t++) { activations[t] = PieceWeights(x_quad(t, columns.x), x_quad(t, columns.y)); }
    for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
      if (first_row + r < params.rows) {
        let w = piece_weights((first_row + r) * params.row_bytes, piece);
        for (var t = 0u; t < TOKENS; t++) { partial[r][t] += dot(w[0], activations[t][0]) + dot(w[1], activations[t][1]); }
      }
    }
  }
  // Float rows need not fill their last piece.
  let rest = params.cols % PIECE;
  if (rest != 0u && lane == whole_pieces % LANES) {
    for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
      if (first_row + r < params.rows) { partial[r] += piece_by_value((first_row + r) * params.row_bytes, whole_pieces * PIECE, rest); }
    }
  }
  let total = sum_over_workgroup(lane, partial);
  if (lane != 0u) { return; }
  for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
    let row = first_row + r;
    if (row >= params.rows) { break; }
    for (var t = 0u; t < TOKENS; t++) {
      out[params.out_offset + t * params.out_stride + params.first_row + row] = total[r][t];
    }
  }
}
