// The page's one connection to the inspector worker.

import { wrap, type Remote } from 'comlink';
import type { InspectorApi } from '../worker/inspector.worker';

let remote: Remote<InspectorApi> | null = null;

/** The inspector worker, started on first use. */
export function inspector(): Remote<InspectorApi> {
  remote ??= wrap<InspectorApi>(new Worker(new URL('../worker/inspector.worker.ts', import.meta.url), { type: 'module', name: 'inspector' }));
  return remote;
}
