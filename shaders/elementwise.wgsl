// Element-wise ops over activation buffers: one invocation per value. Buffers are bound whole; the offsets say
// where each operand starts.

struct Params {
  n: u32,
  a_offset: u32,
  b_offset: u32,
  out_offset: u32,
  /** add_bias: values per row of x (the bias length). */
  width: u32,
  groups_x: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn index_of(id: vec3<u32>) -> u32 {
  return id.x + id.y * params.groups_x * 64u;
}

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = index_of(id);
  if (i >= params.n) { return; }
  out[params.out_offset + i] = a[params.a_offset + i] + b[params.b_offset + i];
}

@compute @workgroup_size(64)
fn silu_mul(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = index_of(id);
  if (i >= params.n) { return; }
  let g = a[params.a_offset + i];
  out[params.out_offset + i] = g / (1.0 + exp(-g)) * b[params.b_offset + i];
}

/** out[i] = a[i] + b[i mod width]: a bias (b) added to every row. */
@compute @workgroup_size(64)
fn add_bias(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = index_of(id);
  if (i >= params.n) { return; }
  out[params.out_offset + i] = a[params.a_offset + i] + b[params.b_offset + i % params.width];
}

/** out[i] = a[i] rounded to f16 precision: the KV cache keeps f16 values, as llama.cpp's does. */
@compute @workgroup_size(64)
fn store_f16(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = index_of(id);
  if (i >= params.n) { return; }
  out[params.out_offset + i] = unpack2x16float(pack2x16float(vec2<f32>(a[params.a_offset + i], 0.0))).x;
}
