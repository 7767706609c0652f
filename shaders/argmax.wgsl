// Greedy sampling on the GPU: the index of the largest of n values (the first one on ties), so decoding reads back
// one number instead of the whole logits row. One workgroup: each lane scans a stride, then a tree reduction.

const LANES = 64u;

struct Params {
  n: u32,
  offset: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> best_value: array<f32, LANES>;
var<workgroup> best_index: array<u32, LANES>;

@compute @workgroup_size(64)
fn argmax(@builtin(local_invocation_index) lane: u32) {
  var value = -3.4e38;
  var index = 0xffffffffu;
  for (var i = lane; i < params.n; i += LANES) {
    let v = values[params.offset + i];
    if (v > value || index == 0xffffffffu) {
      value = v;
      index = i;
    }
  }
  best_value[lane] = value;
  best_index[lane] = index;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      let other = best_index[lane + stride];
      let v = best_value[lane + stride];
      if (other != 0xffffffffu && (v > best_value[lane] || (v == best_value[lane] && other < best_index[lane]))) {
        best_value[lane] = v;
        best_index[lane] = other;
      }
    }
    workgroupBarrier();
  }
  if (lane == 0u) { result[0] = best_index[0]; }
}
