// The playground's one store: loaded models, files that failed to open, what is
// selected, and results fetched from the inspector worker. Components read it
// with selectors and change it only through the actions below.

import { create } from 'zustand';
import type { ModelView, NamedBlob, OpenError } from '../formats/model';
import type { TensorStats } from '../quant/tensor-stats';
import type { OpenResult } from '../worker/inspector.worker';
import { inspector } from './inspector-client';

export type InspectorTab = 'overview' | 'metadata' | 'tensors';
export type TensorColumn = 'name' | 'type' | 'shape' | 'elements' | 'bytes' | 'offset';
export interface TensorSort {
  column: TensorColumn;
  descending: boolean;
}

export type StatsResult =
  | { status: 'loading' }
  | { status: 'done'; stats: TensorStats }
  | { status: 'error'; message: string };

/** Metadata array items fetched beyond the preview, and whether a fetch is running. */
export interface ArrayItems {
  items: (string | number | boolean)[];
  loading: boolean;
  error: string | null;
}

/** A worker job the UI is waiting for, shown by the loading indicator. */
export interface PendingJob {
  id: number;
  label: string;
}

export interface FileError extends OpenError {
  id: number;
}

export const DEMO_MODEL = { name: 'stories260K.gguf', path: 'models/stories260K.gguf' };
/** Array items fetched per "show more" click. */
export const ARRAY_PAGE = 256;

interface PlaygroundState {
  models: ModelView[];
  errors: FileError[];
  pending: PendingJob[];
  /** Files skipped inside dropped folders (not model files). */
  skipped: string[];
  selectedModelId: string | null;
  tab: InspectorTab;
  /** Selected tensor per model id. */
  selectedTensor: Record<string, string>;
  /** Statistics per model id and tensor name (see statsKey). */
  stats: Record<string, StatsResult>;
  /** Expanded metadata arrays per model id and key (see arrayKey). */
  arrays: Record<string, ArrayItems>;
  tensorFilter: string;
  tensorSort: TensorSort;
  metadataFilter: string;

  openFiles(files: NamedBlob[], skipped?: string[]): Promise<void>;
  openDemo(): Promise<void>;
  selectModel(id: string): void;
  closeModel(id: string): void;
  dismissError(id: number): void;
  setTab(tab: InspectorTab): void;
  setTensorFilter(text: string): void;
  sortTensorsBy(column: TensorColumn): void;
  setMetadataFilter(text: string): void;
  selectTensor(name: string): Promise<void>;
  loadArrayItems(key: string): Promise<void>;
}

export const statsKey = (modelId: string, tensor: string) => `${modelId}\u0000${tensor}`;
export const arrayKey = (modelId: string, key: string) => `${modelId}\u0000${key}`;

let nextJobId = 1;
let nextErrorId = 1;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const usePlayground = create<PlaygroundState>()((set, get) => {
  /** Runs a worker job that opens models, with a loading indicator, and merges its result. */
  async function openWith(label: string, fileNames: string[], job: () => Promise<OpenResult>): Promise<void> {
    const pendingJob = { id: nextJobId++, label };
    set((s) => ({ pending: [...s.pending, pendingJob] }));
    let result: OpenResult;
    try {
      result = await job();
    } catch (e) {
      // The worker itself failed (not a parse error, those come back as OpenErrors).
      result = { models: [], errors: fileNames.map((file) => ({ file, message: messageOf(e), field: null, offset: null })) };
    }
    set((s) => ({
      pending: s.pending.filter((p) => p !== pendingJob),
      models: [...s.models, ...result.models],
      errors: [...s.errors, ...result.errors.map((e) => ({ ...e, id: nextErrorId++ }))],
      // Show the first newly opened model.
      selectedModelId: result.models[0]?.id ?? s.selectedModelId,
    }));
  }

  return {
    models: [],
    errors: [],
    pending: [],
    skipped: [],
    selectedModelId: null,
    tab: 'overview',
    selectedTensor: {},
    stats: {},
    arrays: {},
    tensorFilter: '',
    tensorSort: { column: 'offset', descending: false },
    metadataFilter: '',

    async openFiles(files, skipped = []) {
      set({ skipped });
      if (files.length === 0) return;
      const label = files.length === 1 ? files[0]!.name : `${files.length} files`;
      await openWith(label, files.map((f) => f.path ?? f.name), () => inspector().open(files));
    },

    async openDemo() {
      const url = new URL(DEMO_MODEL.path, document.baseURI).href;
      await openWith(DEMO_MODEL.name, [DEMO_MODEL.name], () => inspector().openUrl(url, DEMO_MODEL.name));
    },

    selectModel(id) {
      set({ selectedModelId: id });
    },

    closeModel(id) {
      void inspector().close(id);
      set((s) => {
        const models = s.models.filter((m) => m.id !== id);
        const { [id]: _closed, ...selectedTensor } = s.selectedTensor;
        const prefix = `${id}\u0000`;
        const keep = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).filter(([k]) => !k.startsWith(prefix)));
        return {
          models,
          selectedTensor,
          stats: keep(s.stats),
          arrays: keep(s.arrays),
          selectedModelId: s.selectedModelId === id ? (models[0]?.id ?? null) : s.selectedModelId,
        };
      });
    },

    dismissError(id) {
      set((s) => ({ errors: s.errors.filter((e) => e.id !== id) }));
    },

    setTab(tab) {
      set({ tab });
    },

    setTensorFilter(text) {
      set({ tensorFilter: text });
    },

    sortTensorsBy(column) {
      set((s) => ({
        tensorSort: { column, descending: s.tensorSort.column === column ? !s.tensorSort.descending : false },
      }));
    },

    setMetadataFilter(text) {
      set({ metadataFilter: text });
    },

    async selectTensor(name) {
      const modelId = get().selectedModelId;
      if (!modelId) return;
      const key = statsKey(modelId, name);
      const known = get().stats[key];
      set((s) => ({ selectedTensor: { ...s.selectedTensor, [modelId]: name } }));
      if (known && known.status !== 'error') return;
      set((s) => ({ stats: { ...s.stats, [key]: { status: 'loading' } } }));
      let result: StatsResult;
      try {
        result = { status: 'done', stats: await inspector().tensorStats(modelId, name) };
      } catch (e) {
        result = { status: 'error', message: messageOf(e) };
      }
      // The model may have been closed meanwhile.
      if (get().models.some((m) => m.id === modelId)) set((s) => ({ stats: { ...s.stats, [key]: result } }));
    },

    async loadArrayItems(key) {
      const modelId = get().selectedModelId;
      const model = get().models.find((m) => m.id === modelId);
      const entry = model?.metadata.find((m) => m.key === key);
      if (!model || !entry?.arrayLength) return;
      const k = arrayKey(model.id, key);
      const current = get().arrays[k] ?? { items: entry.preview ?? [], loading: false, error: null };
      if (current.loading || current.items.length >= entry.arrayLength) return;
      set((s) => ({ arrays: { ...s.arrays, [k]: { ...current, loading: true, error: null } } }));
      let next: ArrayItems;
      try {
        const more = await inspector().metadataArray(model.id, key, current.items.length, ARRAY_PAGE);
        next = { items: [...current.items, ...more], loading: false, error: null };
      } catch (e) {
        next = { ...current, loading: false, error: messageOf(e) };
      }
      if (get().models.some((m) => m.id === model.id)) set((s) => ({ arrays: { ...s.arrays, [k]: next } }));
    },
  };
});

/** The model shown in the inspector. */
export function useSelectedModel(): ModelView | null {
  return usePlayground((s) => s.models.find((m) => m.id === s.selectedModelId) ?? null);
}
