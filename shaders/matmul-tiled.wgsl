// out[t][r] = Σ_c weight[r][c] · x[t][c] for prefill batches on GPUs, dequantizing the weight on the fly (dequant.wgsl,
// pieces.wgsl and matmul-params.wgsl come first). Same bindings and parameters as matmul.wgsl; only the dispatch
// differs: one workgroup per tile of TILE_ROWS rows × TILE_TOKENS tokens, (x, y) spreading the row tiles, z the token
// tiles.
//
// The workgroup walks the shared dimension CHUNK columns at a time. Its invocations first decode the chunk of the
// tile's weight rows, a piece of 8 weights each from whole words (each value once per workgroup, then used for all
// TILE_TOKENS tokens), and copy the chunk of its activations into workgroup memory; after a barrier each invocation adds the products of its 4 rows × 4 tokens of
// outputs from there: two 16-byte workgroup loads for sixteen multiply-adds.
//
// Sizes: the two chunks of 64 × 32 f32 take 16 KB, WebGPU's default workgroup storage limit, and 256 invocations,
// the default invocation limit, cover the tile as 16 × 16 blocks of 4 × 4 outputs. On an H100 chunks of 32 columns
// (half the barriers) ran as fast as chunks of 16 or up to 20% faster; 64 rows × 64 tokens keep enough workgroups in
// flight for prefills of a few hundred tokens on the narrow projections of small models (256 rows). SwiftShader
// compiles the zero-initialization WebGPU adds for workgroup memory slowly: about 1.5 s a pipeline.

const TILE_ROWS = 64u;
const TILE_TOKENS = 64u;
const CHUNK = 32u;
/** Outputs per invocation along rows and along tokens. */
const BLOCK = 4u;
/** vec4 slots per chunk column: TILE_ROWS / BLOCK, which is also TILE_TOKENS / BLOCK. */
const QUADS = 16u;
/** Chunk columns each invocation fills, of one weight row and one token: CHUNK · TILE_ROWS / 256, one piece (pieces.wgsl). */
const FILL_COLS = PIECE;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Column-major chunks, four rows (or tokens) to a vec4: row i of chunk column k is weight_chunk[k * QUADS + i / 4][i % 4],
// so an invocation reads its four rows (or tokens) of a column with one load.
var<workgroup> weight_chunk: array<vec4<f32>, 512>; // CHUNK * QUADS
var<workgroup> x_chunk: array<vec4<f32>, 512>;

@compute @workgroup_size(256)
fn matmul_tiled(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let tile_row = (group.x + group.y * params.groups_x) * TILE_ROWS;
  // Spreading over x and y may leave whole tiles past the end (the same for every invocation: barriers stay uniform).
  if (tile_row >= params.rows) { return; }
  let tile_token = group.z * TILE_TOKENS;

  // Filling: this invocation's row and token within the tile, and its columns within the chunk.
  let fill_index = lane / 4u;
  let fill_col = (lane % 4u) * FILL_COLS;
  let fill_slot = fill_index / 4u;
  let fill_component = fill_index % 4u;
  let fill_row = tile_row + fill_index;
  let fill_token = tile_token + fill_index;
  let row_start = fill_row * params.row_bytes;
  let x_start = params.x_offset + fill_token * params.cols;

  // Summing: this invocation's quad of rows and quad of tokens; sums[j][i] is row i of token j.
  let row_quad = lane % QUADS;
  let token_quad = lane / QUADS;
  var sums: array<vec4<f32>, BLOCK>;

  for (var chunk_start = 0u; chunk_start < params.cols; chunk_start += CHUNK) {
    let first_col = chunk_start + fill_col;
    if (fill_row < params.rows && first_col + FILL_COLS <= params.cols) {
      // A whole piece, stored at its columns (both quads lie in this chunk: chunks start on 32-value blocks).
      let piece = first_col / PIECE;
      let values = piece_weights(row_start, piece);
      let columns = piece_columns(piece) - vec2<u32>(chunk_start);
      for (var i = 0u; i < 4u; i++) {
        weight_chunk[(columns.x + i) * QUADS + fill_slot][fill_component] = values[0][i];
        weight_chunk[(columns.y + i) * QUADS + fill_slot][fill_component] = values[1][i];
      }
    } else {
      // Past the last row, or in the last chunk of an F32, F16 or BF16 row, which need not fill it: value by value,
      // zeros past the edges (they add nothing to the sums).
      for (var i = 0u; i < FILL_COLS; i++) {
        let col = first_col + i;
        var w = 0.0;
        if (fill_row < params.rows && col < params.cols) { w = weight_at(row_start, col); }
        weight_chunk[(fill_col + i) * QUADS + fill_slot][fill_component] = w;
      }
    }
    for (var i = 0u; i < FILL_COLS; i++) {
      let col = first_col + i;
      var a = 0.0;
      if (fill_token < params.tokens && col < params.cols) { a = x[x_start + col]; }
      x_chunk[(fill_col + i) * QUADS + fill_slot][fill_component] = a;
    }
    workgroupBarrier();
    for (var k = 0u; k < CHUNK; k++) {
      let w = weight_chunk[k * QUADS + row_quad];
      let a = x_chunk[k * QUADS + token_quad];
      sums[0] += w * a.x;
      sums[1] += w * a.y;
      sums[2] += w * a.z;
      sums[3] += w * a.w;
    }
    // The next chunk overwrites what the other invocations may still be reading.
    workgroupBarrier();
  }

  for (var j = 0u; j < BLOCK; j++) {
    let token = tile_token + token_quad * BLOCK + j;
    if (token >= params.tokens) { break; }
    let out_start = params.out_offset + token * params.out_stride + params.first_row;
    for (var i = 0u; i < BLOCK; i++) {
      let row = tile_row + row_quad * BLOCK + i;
      if (row < params.rows) { out[out_start + row] = sums[j][i]; }
    }
  }
}
