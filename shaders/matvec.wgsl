// out[t][r] = Σ_c weight[r][c] · x[t][c] for a few tokens (decode), on GPUs: one workgroup per ROWS_PER_WORKGROUP
// output rows, its lanes splitting the rows into pieces of 8 weights (pieces.wgsl: a quarter of a 32-value block,
// an eighth of a 32-value group of a k-quant super-block, 8 floats). Lane l takes pieces l, l + LANES, …, so that
// the lanes of a subgroup read one contiguous stretch of each row; per piece, a lane loads the tokens' activations
// once and decodes the piece of every row of the workgroup from whole u32 words (but for F16 and BF16 rows that
// start inside a word; independent loads, in flight together). The lanes' partial sums are then added across the workgroup by sum_over_workgroup
// (matvec-reduce-subgroups.wgsl or matvec-reduce-shared.wgsl, prepended along with dequant.wgsl, pieces.wgsl and
// matmul-params.wgsl). Weight values are exactly weight_at's; only the order of the sums differs from matmul.wgsl.

const LANES = 64u;
const ROWS_PER_WORKGROUP = 4u;
const MAX_TOKENS = 4u;

/** Tokens of this pipeline (1 … 4): a constant, so that the per-token code below folds away. */
override TOKENS: u32 = 1u;

/** Per-token partial sums of each row of the workgroup (component t: token t). */
alias RowSums = array<vec4<f32>, ROWS_PER_WORKGROUP>;

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

/** Weights first … first+count−1 (count ≤ PIECE) one value at a time through weight_at: every type, any alignment. */
fn piece_by_value(row_start: u32, first: u32, count: u32) -> vec4<f32> {
  var sums = vec4<f32>(0.0);
  for (var c = first; c < first + count; c++) {
    sums += scale_tokens(weight_at(row_start, c), c);
  }
  return sums;
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
