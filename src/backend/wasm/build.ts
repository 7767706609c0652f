// Compiles the AssemblyScript modules:
//  - the inference kernels (src/backend/wasm/assembly), twice: with relaxed SIMD
//    (fused multiply-add) and with plain SIMD for engines without relaxed SIMD;
//    the loader picks whichever the engine accepts;
//  - the quantizers (src/quant/assembly), plain SIMD only (they need no relaxed ops).
// Run: npx tsx src/backend/wasm/build.ts

import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const kernelsEntry = `${here}assembly/index.ts`;
const quantizeEntry = fileURLToPath(new URL('../../quant/assembly/index.ts', import.meta.url));
const outDir = `${here}build`;

const plainSimd = ['--enable', 'simd,threads', '--disable', 'relaxed-simd'];
const modules = [
  { entry: kernelsEntry, file: 'kernels-relaxed.wasm', features: ['--enable', 'simd,threads,relaxed-simd'] },
  { entry: kernelsEntry, file: 'kernels.wasm', features: plainSimd },
  { entry: quantizeEntry, file: 'quantize.wasm', features: plainSimd },
];

mkdirSync(outDir, { recursive: true });
for (const module of modules) {
  const { error, stderr } = await asc.main([
    module.entry,
    ...module.features,
    '-O3',
    '--runtime', 'stub',
    '--noAssert',
    '--outFile', `${outDir}/${module.file}`,
  ]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`asc failed for ${module.file}: ${error.message}`);
  }
  console.log(`built ${outDir}/${module.file}`);
}
