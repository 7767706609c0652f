// RMS normalization: out = x / sqrt(mean(x²) + eps) ⊙ weight, one workgroup per row.

const LANES = 64u;

struct Params {
  n: u32,
  x_offset: u32,
  out_offset: u32,
  eps: f32,
  groups_x: u32,
  rows: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, LANES>;

@compute @workgroup_size(64)
fn rms_norm(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let row = group.x + group.y * params.groups_x;
  if (row >= params.rows) { return; }
  let xs = params.x_offset + row * params.n;
  var sum = 0.0;
  for (var i = lane; i < params.n; i += LANES) {
    sum += x[xs + i] * x[xs + i];
  }
  partial[lane] = sum;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) { partial[lane] += partial[lane + stride]; }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(partial[0] / f32(params.n) + params.eps);
  let os = params.out_offset + row * params.n;
  for (var i = lane; i < params.n; i += LANES) {
    out[os + i] = x[xs + i] * scale * weight[i];
  }
}
