// Reads a compiled .wasm file shipped beside the sources: from disk in Node,
// with fetch in the browser. Callers pass a literal `new URL('…', import.meta.url)`
// so that bundlers (Vite) emit the file as an asset.

import { BackendError } from '../backend';

export async function readWasmAsset(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === 'file:') {
    const fsModule = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
    try {
      return new Uint8Array(await readFile(url));
    } catch (error) {
      throw new BackendError(`cannot read ${url.pathname} (build it with \`npx tsx src/backend/wasm/build.ts\`): ${String(error)}`);
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new BackendError(`cannot fetch ${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
