// out[t] = row tokens[t] of the embedding matrix, dequantized (dequant.wgsl comes first). One invocation per value.

struct Params {
  cols: u32,
  tokens: u32,
  row_bytes: u32,
  /** First row held by this weight part; tokens outside [first_row, first_row + rows) are left to other parts. */
  first_row: u32,
  rows: u32,
  out_offset: u32,
}

@group(0) @binding(1) var<storage, read> token_ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn embed(@builtin(global_invocation_id) id: vec3<u32>) {
  let col = id.x;
  let t = id.y;
  if (col >= params.cols || t >= params.tokens) { return; }
  let token = token_ids[t];
  if (token < params.first_row || token >= params.first_row + params.rows) { return; }
  out[params.out_offset + t * params.cols + col] = weight_at((token - params.first_row) * params.row_bytes, col);
}
