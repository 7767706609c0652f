// Compiles the AssemblyScript modules:
//  - the inference kernels (src/backend/wasm/assembly), with relaxed SIMD (fused
//    multiply-add) and with plain SIMD for engines without relaxed SIMD, each with
//    an imported private memory and with an imported shared memory (the
//    multi-threaded backend runs one instance per thread on the same memory);
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
const relaxedSimd = ['--enable', 'simd,threads,relaxed-simd'];
/** The backend creates the memory: the kernels own no heap, so the module needs no more than one page of its own. */
const importedMemory = ['--importMemory', '--initialMemory', '1'];
/** wasm32's whole 4 GiB: a shared memory must declare its maximum up front. */
const sharedMemory = [...importedMemory, '--sharedMemory', '--maximumMemory', '65536'];
const modules = [
  { entry: kernelsEntry, file: 'kernels-relaxed.wasm', options: [...relaxedSimd, ...importedMemory] },
  { entry: kernelsEntry, file: 'kernels.wasm', options: [...plainSimd, ...importedMemory] },
  { entry: kernelsEntry, file: 'kernels-relaxed-shared.wasm', options: [...relaxedSimd, ...sharedMemory] },
  { entry: kernelsEntry, file: 'kernels-shared.wasm', options: [...plainSimd, ...sharedMemory] },
  { entry: quantizeEntry, file: 'quantize.wasm', options: plainSimd },
];

mkdirSync(outDir, { recursive: true });
for (const module of modules) {
  const { error, stderr } = await asc.main([
    module.entry,
    ...module.options,
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
