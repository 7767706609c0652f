// Memory read bandwidth of the GPU, the roofline of the decode benchmarks (src/bench/webgpu-bench.ts): every
// invocation reads 16-byte words in a grid-stride loop and keeps one word of their XOR, so no read can be skipped.

struct Params {
  /** Words of 16 bytes to read. */
  words: u32,
  /** Invocations in the whole dispatch. */
  stride: u32,
}

@group(0) @binding(0) var<storage, read> data: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn read_all(@builtin(global_invocation_id) id: vec3<u32>) {
  var acc = vec4<u32>(0u);
  for (var i = id.x; i < params.words; i += params.stride) {
    acc ^= data[i];
  }
  sink[id.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
