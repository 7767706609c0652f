// Parameters of the attention kernels (attention.wgsl, attention-split.wgsl, attention-prefill.wgsl), prepended to
// each: one layout, so that the backend writes the same words whichever kernel runs.

struct Params {
  tokens: u32,
  start_pos: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  kv_dim: u32,
  scale: f32,
  q_offset: u32,
  out_offset: u32,
  /** Offset of the layer's position 0 in the key and value buffers. */
  cache_offset: u32,
  /** Chunks per (query token, head) of attention-split.wgsl: those of the longest query. */
  chunks: u32,
}
