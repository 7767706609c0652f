// The playground's one store: loaded models, files that failed to open, what is
// selected, results fetched from the inspector worker, and the model loaded in the
// generate worker with its latest run. Components read it with selectors and change
// it only through the actions below.

import { proxy } from 'comlink';
import { create } from 'zustand';
import type { RunResult, StreamUpdate } from '../engine/session';
import type { ModelView, NamedBlob, OpenError } from '../formats/model';
import type { QuantizeProgress } from '../quant/quantize-model';
import type { QuantizeOptions } from '../quant/recipes';
import type { TensorStats } from '../quant/tensor-stats';
import type { ChatMessage } from '../tokenizer';
import type { LoadedModel, LoadProgress, LoadSettings, ModelSource } from '../worker/generate.worker';
import type { OpenResult, QuantizePlan } from '../worker/inspector.worker';
import { generateWorker } from './generate-client';
import { DEFAULT_GENERATE_FORM, defaultThreads, effectiveMode, parseContextLength, parseRunSettings, promptInput, type GenerateForm, type GenerateMode } from './generate-form';
import { ggufSources } from './generate-sources';
import { inspector } from './inspector-client';
import { DEFAULT_FORM, parseQuantizeForm, variantFileName, type QuantizeForm } from './quantize-form';

export type InspectorTab = 'overview' | 'metadata' | 'tensors' | 'quantize' | 'generate';
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

/** A model's plan for the settings it was asked for (optionsKey), while they are current or being replaced. */
export type PlanResult = { optionsKey: string } & (
  | { status: 'loading' }
  | { status: 'done'; plan: QuantizePlan }
  | { status: 'error'; message: string }
);

/** Identifies a set of options, so that a plan can be matched to the settings it was made for. */
export const optionsKeyOf = (options: QuantizeOptions) => JSON.stringify(options);

/** The latest quantization run; the Quantize panel of its source model shows it. */
export type QuantizeRun =
  | { status: 'running'; sourceId: string; fileName: string; progress: QuantizeProgress | null; cancelling: boolean }
  | { status: 'done'; sourceId: string; fileName: string; variantId: string; storage: 'opfs' | 'memory'; engine: string }
  | { status: 'cancelled'; sourceId: string; fileName: string }
  | { status: 'error'; sourceId: string; fileName: string; message: string };

/** A model made by quantizing another one in the page. */
export interface Variant {
  sourceId: string;
  sourceName: string;
  recipe: string;
  /** The output file, for downloading. */
  file: File;
}

/** The model in the generate worker: being loaded, ready, or failed to load. */
export type GenerateRuntime = { modelId: string; settings: LoadSettings } & (
  | { status: 'loading'; progress: LoadProgress | null; cancelling: boolean }
  | { status: 'ready'; model: LoadedModel }
  | { status: 'error'; message: string }
);

/** The latest generation: the text and tokens streamed so far, then how it ended. */
export interface GenerateRun {
  modelId: string;
  mode: GenerateMode;
  /** Prompt mode: the prompt, shown before the generated text. */
  prompt: string;
  text: string;
  tokens: number[];
  /** The sampler's seed; null for greedy runs, which draw nothing. */
  seed: number | null;
  status: 'running' | 'done' | 'error';
  stopping: boolean;
  result: RunResult | null;
  message: string | null;
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
  quantizeForm: QuantizeForm;
  /** Plan per model id; only the latest request's answer is kept. */
  quantizePlans: Record<string, PlanResult>;
  quantizeRun: QuantizeRun | null;
  /** Quantization results by model id. */
  variants: Record<string, Variant>;
  /** The file (or, for the bundled demo, the address) each GGUF model runs from, by model id. */
  modelSources: Record<string, ModelSource>;
  generateForm: GenerateForm;
  generateRuntime: GenerateRuntime | null;
  generateRun: GenerateRun | null;
  /** Chat mode: the messages so far with the loaded model. */
  conversation: ChatMessage[];

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
  setQuantizeForm(form: QuantizeForm): void;
  planQuantization(modelId: string, options: QuantizeOptions): Promise<void>;
  startQuantization(modelId: string): Promise<void>;
  cancelQuantization(): void;
  setGenerateForm(patch: Partial<GenerateForm>): void;
  loadForGeneration(modelId: string): Promise<void>;
  cancelLoad(): void;
  runGeneration(): Promise<void>;
  stopGeneration(): void;
  clearConversation(): void;
}

export const statsKey = (modelId: string, tensor: string) => `${modelId}\u0000${tensor}`;
export const arrayKey = (modelId: string, key: string) => `${modelId}\u0000${key}`;

let nextJobId = 1;
let nextErrorId = 1;
/** Numbers plan requests, so that an answer to outdated settings is dropped. */
let latestPlanRequest = 0;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const usePlayground = create<PlaygroundState>()((set, get) => {
  /** Runs a worker job that opens models, with a loading indicator, and merges its result and the models' sources. */
  async function openWith(
    label: string,
    fileNames: string[],
    job: () => Promise<OpenResult>,
    sourcesOf: (models: ModelView[]) => Record<string, ModelSource>,
  ): Promise<void> {
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
      modelSources: { ...s.modelSources, ...sourcesOf(result.models) },
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
    quantizeForm: DEFAULT_FORM,
    quantizePlans: {},
    quantizeRun: null,
    variants: {},
    modelSources: {},
    generateForm: { ...DEFAULT_GENERATE_FORM, threads: defaultThreads(navigator.hardwareConcurrency ?? 1, globalThis.crossOriginIsolated === true) },
    generateRuntime: null,
    generateRun: null,
    conversation: [],

    async openFiles(files, skipped = []) {
      set({ skipped });
      if (files.length === 0) return;
      const label = files.length === 1 ? files[0]!.name : `${files.length} files`;
      await openWith(label, files.map((f) => f.path ?? f.name), () => inspector().open(files), (models) => ggufSources(files, models));
    },

    async openDemo() {
      const url = new URL(DEMO_MODEL.path, document.baseURI).href;
      await openWith(DEMO_MODEL.name, [DEMO_MODEL.name], () => inspector().openUrl(url, DEMO_MODEL.name), (models) =>
        Object.fromEntries(models.map((m) => [m.id, url])),
      );
    },

    selectModel(id) {
      set({ selectedModelId: id });
    },

    closeModel(id) {
      void inspector().close(id);
      const runsClosedModel = get().generateRuntime?.modelId === id;
      if (runsClosedModel) void generateWorker().unload();
      set((s) => {
        const models = s.models.filter((m) => m.id !== id);
        const { [id]: _closed, ...selectedTensor } = s.selectedTensor;
        const { [id]: _plan, ...quantizePlans } = s.quantizePlans;
        const { [id]: _variant, ...variants } = s.variants;
        const { [id]: _source, ...modelSources } = s.modelSources;
        const prefix = `${id}\u0000`;
        const keep = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).filter(([k]) => !k.startsWith(prefix)));
        return {
          models,
          selectedTensor,
          quantizePlans,
          variants,
          modelSources,
          ...(runsClosedModel ? { generateRuntime: null, generateRun: null, conversation: [] } : {}),
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

    setQuantizeForm(form) {
      set({ quantizeForm: form });
    },

    async planQuantization(modelId, options) {
      const request = ++latestPlanRequest;
      const optionsKey = optionsKeyOf(options);
      const keepIfLatest = (result: PlanResult) => {
        if (request === latestPlanRequest && get().models.some((m) => m.id === modelId)) {
          set((s) => ({ quantizePlans: { ...s.quantizePlans, [modelId]: result } }));
        }
      };
      keepIfLatest({ optionsKey, status: 'loading' });
      try {
        keepIfLatest({ optionsKey, status: 'done', plan: await inspector().planQuantization(modelId, options) });
      } catch (e) {
        keepIfLatest({ optionsKey, status: 'error', message: messageOf(e) });
      }
    },

    async startQuantization(modelId) {
      const source = get().models.find((m) => m.id === modelId);
      const parsed = parseQuantizeForm(get().quantizeForm);
      if (!source || !parsed.ok || get().quantizeRun?.status === 'running') return;
      const sourceId = source.id;
      const fileName = variantFileName(source.name, parsed.options.recipe);
      set({ quantizeRun: { status: 'running', sourceId, fileName, progress: null, cancelling: false } });
      const onProgress = proxy((progress: QuantizeProgress) => {
        set((s) => (s.quantizeRun?.status === 'running' ? { quantizeRun: { ...s.quantizeRun, progress } } : {}));
      });
      try {
        const outcome = await inspector().quantize(sourceId, parsed.options, fileName, onProgress);
        if (outcome.status === 'cancelled') {
          set({ quantizeRun: { status: 'cancelled', sourceId, fileName } });
          return;
        }
        const variant: Variant = { sourceId, sourceName: source.name, recipe: parsed.options.recipe, file: outcome.file };
        set((s) => ({
          models: [...s.models, outcome.model],
          variants: { ...s.variants, [outcome.model.id]: variant },
          modelSources: { ...s.modelSources, [outcome.model.id]: outcome.file },
          quantizeRun: { status: 'done', sourceId, fileName, variantId: outcome.model.id, storage: outcome.storage, engine: outcome.engine },
        }));
      } catch (e) {
        set({ quantizeRun: { status: 'error', sourceId, fileName, message: messageOf(e) } });
      }
    },

    cancelQuantization() {
      set((s) => (s.quantizeRun?.status === 'running' ? { quantizeRun: { ...s.quantizeRun, cancelling: true } } : {}));
      void inspector().cancelQuantization();
    },

    setGenerateForm(patch) {
      set((s) => ({ generateForm: { ...s.generateForm, ...patch } }));
    },

    async loadForGeneration(modelId) {
      const { models, modelSources, generateForm, generateRuntime, generateRun } = get();
      const model = models.find((m) => m.id === modelId);
      const source = modelSources[modelId];
      const nCtx = parseContextLength(generateForm.contextLength, model?.summary.contextLength ?? null);
      if (!model || source === undefined || !nCtx.ok || generateRuntime?.status === 'loading' || generateRun?.status === 'running') return;
      const settings: LoadSettings = { backend: generateForm.backend, threads: generateForm.threads, nCtx: nCtx.value };
      const isCurrent = () => get().generateRuntime?.modelId === modelId && get().generateRuntime?.settings === settings;
      set({ generateRuntime: { status: 'loading', modelId, settings, progress: null, cancelling: false }, generateRun: null, conversation: [] });
      const onProgress = proxy((progress: LoadProgress) => {
        set((s) => (s.generateRuntime?.status === 'loading' && isCurrent() ? { generateRuntime: { ...s.generateRuntime, progress } } : {}));
      });
      try {
        const outcome = await generateWorker().load({ source, ...settings }, onProgress);
        if (!isCurrent()) return;
        set({ generateRuntime: outcome.status === 'loaded' ? { status: 'ready', modelId, settings, model: outcome.model } : null });
      } catch (e) {
        if (isCurrent()) set({ generateRuntime: { status: 'error', modelId, settings, message: messageOf(e) } });
      }
    },

    cancelLoad() {
      set((s) => (s.generateRuntime?.status === 'loading' ? { generateRuntime: { ...s.generateRuntime, cancelling: true } } : {}));
      void generateWorker().cancelLoad();
    },

    async runGeneration() {
      const { generateForm: form, generateRuntime: runtime, generateRun, conversation } = get();
      const settings = parseRunSettings(form);
      if (runtime?.status !== 'ready' || generateRun?.status === 'running' || !settings.ok) return;
      const modelId = runtime.modelId;
      const mode = effectiveMode(form.mode, runtime.model.hasChatTemplate);
      const input = promptInput(mode, form, conversation);
      const run: GenerateRun = {
        modelId,
        mode,
        prompt: form.prompt,
        text: '',
        tokens: [],
        seed: settings.value.options.sampling.temperature === 0 ? null : settings.value.seed,
        status: 'running',
        stopping: false,
        result: null,
        message: null,
      };
      // In chat mode the message joins the conversation now and the input is cleared for the next one.
      const userMessage: ChatMessage = { role: 'user', content: form.prompt };
      set((s) => ({
        generateRun: run,
        ...(mode === 'chat' ? { conversation: [...s.conversation, userMessage], generateForm: { ...s.generateForm, prompt: '' } } : {}),
      }));
      const isCurrent = () => get().generateRun?.modelId === modelId && get().generateRuntime?.modelId === modelId;
      const onUpdate = proxy((update: StreamUpdate) => {
        set((s) => (s.generateRun?.status === 'running' && isCurrent() ? { generateRun: { ...s.generateRun, text: s.generateRun.text + update.text, tokens: [...s.generateRun.tokens, ...update.tokens] } } : {}));
      });
      try {
        const result = await generateWorker().generate({ input, options: settings.value.options }, onUpdate);
        if (!isCurrent()) return;
        set((s) => ({
          generateRun: { ...s.generateRun!, status: 'done', text: result.text, tokens: result.tokens, result },
          ...(mode === 'chat' ? { conversation: [...s.conversation, { role: 'assistant', content: result.text }] } : {}),
        }));
      } catch (e) {
        if (!isCurrent()) return;
        set((s) => ({
          generateRun: { ...s.generateRun!, status: 'error', message: messageOf(e) },
          // The message was not answered: it goes back to the input.
          ...(mode === 'chat' ? { conversation: s.conversation.filter((m) => m !== userMessage), generateForm: { ...s.generateForm, prompt: userMessage.content } } : {}),
        }));
      }
    },

    stopGeneration() {
      set((s) => (s.generateRun?.status === 'running' ? { generateRun: { ...s.generateRun, stopping: true } } : {}));
      void generateWorker().cancelGeneration();
    },

    clearConversation() {
      set((s) => ({ conversation: [], generateRun: s.generateRun?.status === 'running' ? s.generateRun : null }));
    },
  };
});

/** The model shown in the inspector. */
export function useSelectedModel(): ModelView | null {
  return usePlayground((s) => s.models.find((m) => m.id === s.selectedModelId) ?? null);
}
