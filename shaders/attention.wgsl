// Causal grouped-query attention over one layer of the KV cache, a single pass with a running maximum (online
// softmax) over positions 0 … start_pos + t. One invocation per (output dimension, head, query token): each
// computes the scores of its head itself, which trades repeated dot products for no shared memory and no barriers
// (cheap for the small heads SwiftShader can run; a GPU wants a cooperative split-K kernel instead). Its Params come
// from attention-params.wgsl, prepended.

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(64)
fn attention(@builtin(global_invocation_id) id: vec3<u32>) {
  let dim = id.x;
  let head = id.y;
  let t = id.z;
  let d = params.head_dim;
  if (dim >= d || head >= params.heads || t >= params.tokens) { return; }
  let kv_head = head / (params.heads / params.kv_heads);
  let qs = params.q_offset + (t * params.heads + head) * d;
  var running_max = -3.4e38;
  var total = 0.0;
  var acc = 0.0;
  for (var p = 0u; p <= params.start_pos + t; p++) {
    let ks = params.cache_offset + p * params.kv_dim + kv_head * d;
    var dot = 0.0;
    for (var i = 0u; i < d; i++) { dot += q[qs + i] * keys[ks + i]; }
    let score = dot * params.scale;
    let new_max = max(running_max, score);
    let rescale = exp(running_max - new_max);
    let weight = exp(score - new_max);
    total = total * rescale + weight;
    acc = acc * rescale + weight * values[ks + dim];
    running_max = new_max;
  }
  out[params.out_offset + (t * params.heads + head) * d + dim] = acc / total;
}
