// Top-k for sampling on the GPU, so that decoding reads back k logits instead of the whole row: the k largest of n
// values (largest first, the lower index first on ties, the order of topValuesOf in src/backend/backend.ts), the
// values at some extra indices (the tokens a repetition penalty changes), and the softmax normalizer of the row: its
// max and Σ exp(v − max), both in f32 (the host sums in f64, so log-probabilities differ in the last bits).
//
// Two passes. select_slices: one workgroup per slice of SLICE values picks the top min(k, SLICE) of its slice and
// sums its exponentials. merge_slices: one workgroup picks the top k of all the slices' picks and combines their sums.
// Each picks by k rounds of a workgroup argmax over the candidates ranked after the previous pick: the order is total,
// so no candidate is marked or moved, and no sort needs workgroup memory for k entries.

const LANES = 256u;
/** Must match TOPK_SLICE in webgpu-backend.ts. */
const SLICE = 4096u;
/** The index of "no candidate" (a slice shorter than k, or k larger than what is left). */
const NONE = 0xffffffffu;
/** Below every finite logit: the start of a max (WGSL has no infinity literal). */
const LOWEST = -3.4e38;

struct Params {
  n: u32,
  /** First element of the row in `values`. */
  offset: u32,
  k: u32,
  slices: u32,
  n_extra: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read> extra_ids: array<u32>;
/** Per slice: its max, its Σ exp(v − max), then min(k, SLICE) picks as (value bits, index). */
@group(0) @binding(2) var<storage, read_write> partial: array<u32>;
/** max, Σ exp(v − max), k indices, k values, n_extra values (f32 as bits). */
@group(0) @binding(3) var<storage, read_write> result: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

struct Pick {
  value: f32,
  index: u32,
}

var<workgroup> lane_pick: array<Pick, LANES>;
var<workgroup> lane_sum: array<vec2<f32>, LANES>;
var<workgroup> previous: Pick;

/** Whether a ranks before b: a larger value, or an equal value at a lower index; NONE ranks after everything. */
fn before(a: Pick, b: Pick) -> bool {
  if (a.index == NONE) { return false; }
  if (b.index == NONE) { return true; }
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

/** (max, Σ exp(v − max)) of two parts combined. */
fn combine(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

/** Picks kept per slice by select_slices. */
fn picks_per_slice() -> u32 {
  return min(params.k, SLICE);
}

/** Words of a slice's record in `partial`. */
fn slice_words() -> u32 {
  return 2u + 2u * picks_per_slice();
}

/** Candidate j of a pass: value first + j of the row, or (merging) pick j of all the slices' picks. */
fn candidate(merging: bool, first: u32, j: u32) -> Pick {
  if (merging) {
    let per_slice = picks_per_slice();
    let at = (j / per_slice) * slice_words() + 2u + 2u * (j % per_slice);
    return Pick(bitcast<f32>(partial[at]), partial[at + 1u]);
  }
  return Pick(values[params.offset + first + j], first + j);
}

/**
 * Writes the `picks` first of `count` candidates in rank order: to the slice's record at word `out` of `partial`,
 * or (merging) to `result`. Every lane calls it: it synchronizes the workgroup.
 */
fn select_top(lane: u32, merging: bool, first: u32, count: u32, picks: u32, out: u32) {
  for (var round = 0u; round < picks; round++) {
    var best = Pick(LOWEST, NONE);
    for (var j = lane; j < count; j += LANES) {
      let c = candidate(merging, first, j);
      if ((round == 0u || before(previous, c)) && before(c, best)) { best = c; }
    }
    lane_pick[lane] = best;
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
      if (lane < stride && before(lane_pick[lane + stride], lane_pick[lane])) { lane_pick[lane] = lane_pick[lane + stride]; }
      workgroupBarrier();
    }
    if (lane == 0u) {
      let pick = lane_pick[0];
      previous = pick;
      if (merging) {
        result[2u + round] = pick.index;
        result[2u + params.k + round] = bitcast<u32>(pick.value);
      } else {
        partial[out + 2u * round] = bitcast<u32>(pick.value);
        partial[out + 2u * round + 1u] = pick.index;
      }
    }
    workgroupBarrier();
  }
}

/** Reduces the lanes' (max, sum) parts; lane 0 ends with the workgroup's. */
fn reduce_sums(lane: u32, part: vec2<f32>) {
  lane_sum[lane] = part;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) { lane_sum[lane] = combine(lane_sum[lane], lane_sum[lane + stride]); }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn select_slices(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) group: vec3<u32>) {
  let slice = group.x;
  let first = slice * SLICE;
  let count = min(SLICE, params.n - first);
  var part = vec2<f32>(LOWEST, 0.0);
  for (var j = lane; j < count; j += LANES) {
    part = combine(part, vec2<f32>(values[params.offset + first + j], 1.0));
  }
  reduce_sums(lane, part);
  let out = slice * slice_words();
  if (lane == 0u) {
    partial[out] = bitcast<u32>(lane_sum[0].x);
    partial[out + 1u] = bitcast<u32>(lane_sum[0].y);
  }
  select_top(lane, false, first, count, picks_per_slice(), out + 2u);
}

@compute @workgroup_size(256)
fn merge_slices(@builtin(local_invocation_index) lane: u32) {
  var part = vec2<f32>(LOWEST, 0.0);
  for (var s = lane; s < params.slices; s += LANES) {
    let at = s * slice_words();
    part = combine(part, vec2<f32>(bitcast<f32>(partial[at]), bitcast<f32>(partial[at + 1u])));
  }
  reduce_sums(lane, part);
  if (lane == 0u) {
    result[0] = bitcast<u32>(lane_sum[0].x);
    result[1] = bitcast<u32>(lane_sum[0].y);
  }
  for (var e = lane; e < params.n_extra; e += LANES) {
    result[2u + 2u * params.k + e] = bitcast<u32>(values[params.offset + extra_ids[e]]);
  }
  select_top(lane, true, 0u, params.slices * picks_per_slice(), params.k, 0u);
}
