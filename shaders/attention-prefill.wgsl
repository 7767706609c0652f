// Causal grouped-query attention for prefill on GPUs (flash attention). One workgroup per (block of BLOCK_Q query
// tokens, head) walks the cached positions in blocks of BLOCK_K, up to the last one its last token sees. For each
// block of positions it stages the keys in workgroup memory a slice of DIM_SLICE head dimensions at a time (the
// queries' slice beside them) and scores every (query, position) pair, then turns the scores into exp(score − running
// maximum) weights and adds the weighted values, staged the same way, to the output rows it keeps in registers
// (online softmax: earlier sums are rescaled whenever a query's maximum grows). Each key and value is thus read from
// memory once per block of queries instead of once per query and output dimension.
//
// Invocations: BLOCK_Q rows of ROW_LANES lanes. Lane `lane` of row `row` scores positions lane and lane + ROW_LANES
// of the block against query `row`, and owns head dimensions 4 · lane … 4 · lane + 3 of every slice of the output.
// Any head_dim from 1 to MAX_HEAD_DIM works (no multiple of 4, no alignment of the offsets is assumed): dimensions
// past head_dim are staged as zeros.
// Params: see attention-params.wgsl, prepended.

/** Query tokens per workgroup. */
const BLOCK_Q = 16u;
/** Lanes per query row: BLOCK_Q · ROW_LANES = 256 invocations, the WebGPU default limit. */
const ROW_LANES = 16u;
/** Cached positions per step: each lane scores two, and each row of lanes stages two positions of every slice. */
const BLOCK_K = 2u * ROW_LANES;
/** Head dimensions staged at a time: one quad per lane of a row. */
const DIM_SLICE = 4u * ROW_LANES;
const MAX_HEAD_DIM = 256u;
const MAX_SLICES = MAX_HEAD_DIM / DIM_SLICE;
/**
 * Quads per staged row: one spare quad so that lanes reading the same dimensions of different positions (or rows)
 * fall in different memory banks.
 */
const QUAD_STRIDE = DIM_SLICE / 4u + 1u;
/** Scores per row of `weights`, one spare against bank conflicts between rows. */
const WEIGHT_STRIDE = BLOCK_K + 1u;
/** Score of a masked position: exp(LOWEST − any real score) is 0, and LOWEST − LOWEST stays finite (no NaN). */
const LOWEST = -3.4e38;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// 4352 + 8704 + 2112 = 15168 bytes of workgroup memory.
var<workgroup> query_slice: array<vec4<f32>, BLOCK_Q * QUAD_STRIDE>;
/** The keys of the block's positions, then (once scored) their values. */
var<workgroup> cache_slice: array<vec4<f32>, BLOCK_K * QUAD_STRIDE>;
/** Per query row, the block's scores, then their weights exp(score − running maximum). */
var<workgroup> weights: array<f32, BLOCK_Q * WEIGHT_STRIDE>;

/** Which of the four dimensions from `dim` on lie inside the head. */
fn inside_head(dim: u32) -> vec4<bool> {
  return vec4<u32>(dim) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.head_dim);
}

fn query_quad(index: u32) -> vec4<f32> {
  return vec4<f32>(q[index], q[index + 1u], q[index + 2u], q[index + 3u]);
}

fn key_quad(index: u32) -> vec4<f32> {
  return vec4<f32>(keys[index], keys[index + 1u], keys[index + 2u], keys[index + 3u]);
}

fn value_quad(index: u32) -> vec4<f32> {
  return vec4<f32>(values[index], values[index + 1u], values[index + 2u], values[index + 3u]);
}

@compute @workgroup_size(BLOCK_Q * ROW_LANES)
fn attention_prefill(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) index: u32) {
  let head = group.y;
  if (head >= params.heads) { return; }
  let first_token = group.x * BLOCK_Q;
  let row = index / ROW_LANES;
  let lane = index % ROW_LANES;
  let d = params.head_dim;
  let slices = (d + DIM_SLICE - 1u) / DIM_SLICE;
  let kv_head = head / (params.heads / params.kv_heads);
  let kv_start = params.cache_offset + kv_head * d;
  let t = first_token + row;
  let in_batch = t < params.tokens;
  let query_start = params.q_offset + (t * params.heads + head) * d;
  // Positions 0 … start_pos + t are visible to query token t; the workgroup walks those of its last token.
  let visible = params.start_pos + t + 1u;
  let block_visible = params.start_pos + min(first_token + BLOCK_Q, params.tokens);

  var running_max = LOWEST;
  var running_sum = 0.0;
  // Indexed by slice in loops of constant length, so that compilers can unroll them and keep this in registers.
  var output_quads: array<vec4<f32>, MAX_SLICES>;
  let zero = vec4<f32>(0.0);

  for (var block_start = 0u; block_start < block_visible; block_start += BLOCK_K) {
    // This lane stages positions `row` and `row` + BLOCK_Q of the block; zeros past the last visible one.
    let staged_a = block_start + row;
    let staged_b = staged_a + BLOCK_Q;
    let staged_a_ok = vec4<bool>(staged_a < block_visible);
    let staged_b_ok = vec4<bool>(staged_b < block_visible);

    var score_a = 0.0;
    var score_b = 0.0;
    for (var slice = 0u; slice < MAX_SLICES; slice++) {
      if (slice < slices) {
        let dim = slice * DIM_SLICE + 4u * lane;
        let inside = inside_head(dim);
        query_slice[row * QUAD_STRIDE + lane] = select(zero, query_quad(query_start + dim), inside & vec4<bool>(in_batch));
        cache_slice[row * QUAD_STRIDE + lane] = select(zero, key_quad(kv_start + staged_a * params.kv_dim + dim), inside & staged_a_ok);
        cache_slice[(row + BLOCK_Q) * QUAD_STRIDE + lane] =
          select(zero, key_quad(kv_start + staged_b * params.kv_dim + dim), inside & staged_b_ok);
        workgroupBarrier();
        for (var i = 0u; i < DIM_SLICE / 4u; i++) {
          let query = query_slice[row * QUAD_STRIDE + i];
          score_a += dot(query, cache_slice[lane * QUAD_STRIDE + i]);
          score_b += dot(query, cache_slice[(lane + ROW_LANES) * QUAD_STRIDE + i]);
        }
        // The next slice overwrites the staged ones.
        workgroupBarrier();
      }
    }

    // Causal mask: this lane scored positions block_start + lane and block_start + lane + ROW_LANES.
    let scored_a = block_start + lane;
    let masked_a = select(LOWEST, score_a * params.scale, scored_a < visible);
    let masked_b = select(LOWEST, score_b * params.scale, scored_a + ROW_LANES < visible);
    let weight_row = row * WEIGHT_STRIDE;
    weights[weight_row + lane] = masked_a;
    weights[weight_row + lane + ROW_LANES] = masked_b;
    workgroupBarrier();
    var block_max = LOWEST;
    for (var c = 0u; c < BLOCK_K; c++) { block_max = max(block_max, weights[weight_row + c]); }
    let new_max = max(running_max, block_max);
    let rescale = exp(running_max - new_max);
    running_max = new_max;
    // Every lane of the row has read the scores before they turn into weights.
    workgroupBarrier();
    weights[weight_row + lane] = exp(masked_a - new_max);
    weights[weight_row + lane + ROW_LANES] = exp(masked_b - new_max);

    for (var slice = 0u; slice < MAX_SLICES; slice++) {
      if (slice < slices) {
        let dim = slice * DIM_SLICE + 4u * lane;
        let inside = inside_head(dim);
        // Zeros past the last visible position: a weight of 0 times a stale value must not give NaN.
        cache_slice[row * QUAD_STRIDE + lane] = select(zero, value_quad(kv_start + staged_a * params.kv_dim + dim), inside & staged_a_ok);
        cache_slice[(row + BLOCK_Q) * QUAD_STRIDE + lane] =
          select(zero, value_quad(kv_start + staged_b * params.kv_dim + dim), inside & staged_b_ok);
        // Also makes the weights visible to the whole row.
        workgroupBarrier();
        var sum = output_quads[slice] * rescale;
        for (var c = 0u; c < BLOCK_K; c++) { sum += weights[weight_row + c] * cache_slice[c * QUAD_STRIDE + lane]; }
        output_quads[slice] = sum;
        workgroupBarrier();
      }
    }
    var block_sum = 0.0;
    for (var c = 0u; c < BLOCK_K; c++) { block_sum += weights[weight_row + c]; }
    running_sum = running_sum * rescale + block_sum;
  }

  if (!in_batch) { return; }
  let out_start = params.out_offset + (t * params.heads + head) * d;
  for (var slice = 0u; slice < MAX_SLICES; slice++) {
    let dim = slice * DIM_SLICE + 4u * lane;
    let result = output_quads[slice] / running_sum;
    for (var k = 0u; k < 4u; k++) {
      if (dim + k < d) { out[out_start + dim + k] = result[k]; }
    }
  }
}
