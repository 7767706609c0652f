// The page's one connection to the generate worker, which holds the model loaded for inference.

import { wrap, type Remote } from 'comlink';
import type { GenerateApi } from '../worker/generate.worker';

let remote: Remote<GenerateApi> | null = null;

/** The generate worker, started on first use. */
export function generateWorker(): Remote<GenerateApi> {
  remote ??= wrap<GenerateApi>(new Worker(new URL('../worker/generate.worker.ts', import.meta.url), { type: 'module', name: 'generate' }));
  return remote;
}
