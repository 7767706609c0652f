// Measures this machine's single-thread memory read bandwidth (the roofline
// that streaming kernels such as quantization and decode are compared with).

/** Bytes per second for summing a buffer far larger than the caches. */
export function measureReadBandwidth(bytes = 256 << 20, repeats = 3): number {
  const words = new Float64Array(bytes / 8);
  for (let i = 0; i < words.length; i += 512) words[i] = i;
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < words.length; i += 4) {
      s0 += words[i]!;
      s1 += words[i + 1]!;
      s2 += words[i + 2]!;
      s3 += words[i + 3]!;
    }
    sink += s0 + s1 + s2 + s3;
    best = Math.min(best, performance.now() - t0);
  }
  if (sink === -1) console.log(sink); // keeps the loop from being optimized away
  return bytes / (best / 1000);
}
