// Rotary position embedding in place. The (cos, sin) of each token's rotated pairs come precomputed from the host
// (ropeTable: the same f32 angle recurrence as ggml). One invocation per (pair, head, token).

struct Params {
  tokens: u32,
  heads: u32,
  head_dim: u32,
  rope_dims: u32,
  neox: u32,
  x_offset: u32,
}

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn rope(@builtin(global_invocation_id) id: vec3<u32>) {
  let pairs = params.rope_dims / 2u;
  let pair = id.x;
  let head = id.y;
  let t = id.z;
  if (pair >= pairs || head >= params.heads || t >= params.tokens) { return; }
  let base = params.x_offset + (t * params.heads + head) * params.head_dim;
  // NeoX rotates (i, i + rope_dims/2); the original ordering rotates neighbours (2i, 2i + 1).
  let i0 = base + select(2u * pair, pair, params.neox != 0u);
  let i1 = i0 + select(1u, pairs, params.neox != 0u);
  let c = table[(t * pairs + pair) * 2u];
  let s = table[(t * pairs + pair) * 2u + 1u];
  let x0 = x[i0];
  let x1 = x[i1];
  x[i0] = x0 * c - x1 * s;
  x[i1] = x0 * s + x1 * c;
}
