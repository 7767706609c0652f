// Parameters of the weight · activations kernels (matmul.wgsl, matmul-tiled.wgsl, matvec.wgsl), prepended to each:
// one layout, so that the backend writes the same words whichever kernel runs.

struct Params {
  rows: u32,
  cols: u32,
  /** Tokens of the batch (matvec.wgsl has them as its TOKENS constant instead). */
  tokens: u32,
  row_bytes: u32,
  /** First row of this weight part (large weights are split into several buffers). */
  first_row: u32,
  x_offset: u32,
  out_offset: u32,
  /** Values per output row: the rows of the whole weight. */
  out_stride: u32,
  /** Workgroups along x (rows are spread over x and y to stay under the dispatch limit). */
  groups_x: u32,
}
