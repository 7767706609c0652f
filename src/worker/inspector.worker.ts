// The inspector worker: parses model headers and computes tensor statistics off
// the UI thread. The page reaches it through comlink (see src/app/inspector-client.ts).
// Files arrive as File/Blob objects (cloned cheaply, not copied); only the header
// bytes and the bytes of a tensor being inspected are ever read.

import { expose } from 'comlink';
import { openModels, type ModelHandle, type ModelView, type NamedBlob, type OpenError } from '../formats/model';
import type { TensorStats } from '../quant/tensor-stats';

export interface OpenResult {
  models: ModelView[];
  errors: OpenError[];
}

/** Loaded models by ModelView.id, kept so that tensors can be read back later. */
const handles = new Map<string, ModelHandle>();

function handleOf(modelId: string): ModelHandle {
  const handle = handles.get(modelId);
  if (!handle) throw new RangeError(`model ${modelId} is not loaded (it may have been closed)`);
  return handle;
}

async function open(files: NamedBlob[]): Promise<OpenResult> {
  const { models, handles: opened, errors } = await openModels(files);
  for (const handle of opened) handles.set(handle.view.id, handle);
  return { models, errors };
}

const inspector = {
  open,

  /** Downloads a model (the bundled demo) inside the worker and opens it. */
  async openUrl(url: string, name: string): Promise<OpenResult> {
    let blob: Blob;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      blob = await response.blob();
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return { models: [], errors: [{ file: name, message: `could not download ${url}: ${reason}`, field: null, offset: null }] };
    }
    return open([{ name, blob }]);
  },

  tensorStats(modelId: string, tensorName: string): Promise<TensorStats> {
    return handleOf(modelId).tensorStats(tensorName);
  },

  metadataArray(modelId: string, key: string, start: number, count: number): Promise<(string | number | boolean)[]> {
    return handleOf(modelId).metadataArray(key, start, count);
  },

  close(modelId: string): void {
    handles.delete(modelId);
  },
};

export type InspectorApi = typeof inspector;

expose(inspector);
