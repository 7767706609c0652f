// Node module hooks for Vite's `?raw` imports (the WGSL kernels import as text in the app and in Vitest), so that
// code importing the WebGPU backend also runs under plain Node and tsx. Registered by src/cli/raw-imports.ts.

import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('?raw')) return nextLoad(url, context);
  const text = await readFile(new URL(url.slice(0, -'?raw'.length)), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
