// Compiles the AssemblyScript kernels into two modules: one using relaxed SIMD
// (fused multiply-add) and a plain-SIMD one for
// engines without relaxed SIMD. The loader picks whichever the engine accepts.
// Run: npx tsx src/backend/wasm/build.ts

import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const entry = `${here}assembly/index.ts`;
const outDir = `${here}build`;

const variants = [
  { file: 'kernels-relaxed.wasm', features: ['--enable', 'simd,threads,relaxed-simd'] },
  { file: 'kernels.wasm', features: ['--enable', 'simd,threads', '--disable', 'relaxed-simd'] },
];

mkdirSync(outDir, { recursive: true });
for (const variant of variants) {
  const { error, stderr } = await asc.main([
    entry,
    ...variant.features,
    '-O3',
    '--runtime', 'stub',
    '--noAssert',
    '--outFile', `${outDir}/${variant.file}`,
  ]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`asc failed for ${variant.file}: ${error.message}`);
  }
  console.log(`built ${outDir}/${variant.file}`);
}
