// out[t][r] = Σ_c weight[r][c] · x[t][c], dequantizing the weight on the fly (dequant.wgsl and
// matmul-params.wgsl come first).
// One invocation per (output row, group of TOKENS_PER_GROUP tokens): each weight value is decoded once and used for
// every token of the group. No shared memory and no barriers: on SwiftShader (and other CPU-backed WebGPU) a
// workgroup barrier costs far more than the arithmetic of these small rows.

const TOKENS_PER_GROUP = 8u;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn matmul(@builtin(global_invocation_id) id: vec3<u32>) {
  let row = id.x + id.y * params.groups_x * 64u;
  if (row >= params.rows) { return; }
  let first_token = id.z * TOKENS_PER_GROUP;
  let tokens = min(TOKENS_PER_GROUP, params.tokens - first_token);
  let row_start = row * params.row_bytes;
  let x_start = params.x_offset + first_token * params.cols;
  var sums: array<f32, TOKENS_PER_GROUP>;
  for (var c = 0u; c < params.cols; c++) {
    let w = weight_at(row_start, c);
    for (var t = 0u; t < tokens; t++) {
      sums[t] += w * x[x_start + t * params.cols + c];
    }
  }
  for (var t = 0u; t < tokens; t++) {
    out[params.out_offset + (first_token + t) * params.out_stride + params.first_row + row] = sums[t];
  }
}
