// Causal grouped-query attention for decoding on GPUs (flash decoding): the positions a query sees are split into
// chunks of CHUNK. attention_chunk runs one workgroup per (chunk, head, query token): its lanes score one position
// each against the query (kept in workgroup memory), then take the chunk's maximum score, the sum of
// exp(score − maximum), and, with one lane per head dimension, the exp-weighted sum of the values. attention_combine
// then merges the chunks of each head, rescaling each by exp(its maximum − the overall maximum). Params: see
// attention-params.wgsl, prepended.

const LANES = 64u;
/** Positions per chunk; must match ATTENTION_CHUNK in webgpu-backend.ts. */
const CHUNK = 128u;
/** Largest head dimension: the query is kept in workgroup memory. */
const MAX_HEAD_DIM = 256u;
const LOWEST = -3.4e38;

@group(0) @binding(0) var<storage, read> q: array<f32>;
/** Keys as quads of dimensions: the head dimension is a multiple of 4. */
@group(0) @binding(1) var<storage, read> keys: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
/**
 * Per chunk record (token, head, chunk): head_dim exp-weighted value sums, then, after all of those, the chunk's
 * (maximum score, sum of exp) pairs.
 */
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> query: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
/** Each position's score, then its exp(score − chunk maximum). */
var<workgroup> position_weights: array<f32, CHUNK>;
var<workgroup> lane_values: array<f32, LANES>;

fn record_index(t: u32, head: u32, chunk: u32) -> u32 {
  return (t * params.heads + head) * params.chunks + chunk;
}

fn stats_index(record: u32) -> u32 {
  return params.tokens * params.heads * params.chunks * params.head_dim + 2u * record;
}

/** Positions 0 … start_pos + t are visible to query token t. */
fn visible_positions(t: u32) -> u32 {
  return params.start_pos + t + 1u;
}

/** The maximum (or the sum) of every lane's `value`, in every lane. */
fn reduce_over_workgroup(lane: u32, value: f32, take_max: bool) -> f32 {
  lane_values[lane] = value;
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) {
      let other = lane_values[lane + stride];
      lane_values[lane] = select(lane_values[lane] + other, max(lane_values[lane], other), take_max);
    }
  }
  workgroupBarrier();
  let result = lane_values[0];
  // The next reduction overwrites lane_values.
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(LANES)
fn attention_chunk(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let chunk = group.x;
  let head = group.y;
  let t = group.z;
  let first = chunk * CHUNK;
  // Later query tokens see more positions: this token may not reach this chunk, and the combine skips it.
  if (first >= visible_positions(t)) { return; }
  let count = min(CHUNK, visible_positions(t) - first);
  let d = params.head_dim;
  let kv_head = head / (params.heads / params.kv_heads);
  let qs = params.q_offset + (t * params.heads + head) * d;
  for (var i = lane; i < d / 4u; i += LANES) {
    query[i] = vec4<f32>(q[qs + 4u * i], q[qs + 4u * i + 1u], q[qs + 4u * i + 2u], q[qs + 4u * i + 3u]);
  }
  workgroupBarrier();

  var lane_max = LOWEST;
  for (var p = lane; p < count; p += LANES) {
    let key = (params.cache_offset + (first + p) * params.kv_dim + kv_head * d) / 4u;
    var product = 0.0;
    for (var i = 0u; i < d / 4u; i++) { product += dot(query[i], keys[key + i]); }
    let score = product * params.scale;
    position_weights[p] = score;
    lane_max = max(lane_max, score);
  }
  let chunk_max = reduce_over_workgroup(lane, lane_max, true);
  var lane_sum = 0.0;
  for (var p = lane; p < count; p += LANES) {
    let weight = exp(position_weights[p] - chunk_max);
    position_weights[p] = weight;
    lane_sum += weight;
  }
  // Its barriers also make every position's weight visible to every lane.
  let chunk_sum = reduce_over_workgroup(lane, lane_sum, false);

  let record = record_index(t, head, chunk);
  let first_value = params.cache_offset + first * params.kv_dim + kv_head * d;
  for (var dim = lane; dim < d; dim += LANES) {
    var acc = 0.0;
    for (var p = 0u; p < count; p++) { acc += position_weights[p] * values[first_value + p * params.kv_dim + dim]; }
    partials[record * d + dim] = acc;
  }
  if (lane == 0u) {
    partials[stats_index(record)] = chunk_max;
    partials[stats_index(record) + 1u] = chunk_sum;
  }
}

@compute @workgroup_size(LANES)
fn attention_combine(@builtin(global_invocation_id) id: vec3<u32>) {
  let dim = id.x;
  let head = id.y;
  let t = id.z;
  let d = params.head_dim;
  if (dim >= d || head >= params.heads || t >= params.tokens) { return; }
  let chunks = (visible_positions(t) + CHUNK - 1u) / CHUNK;
  var overall_max = LOWEST;
  for (var c = 0u; c < chunks; c++) { overall_max = max(overall_max, partials[stats_index(record_index(t, head, c))]); }
  var total = 0.0;
  var acc = 0.0;
  for (var c = 0u; c < chunks; c++) {
    let record = record_index(t, head, c);
    let rescale = exp(partials[stats_index(record)] - overall_max);
    total += partials[stats_index(record) + 1u] * rescale;
    acc += partials[record * d + dim] * rescale;
  }
  out[params.out_offset + (t * params.heads + head) * d + dim] = acc / total;
}
