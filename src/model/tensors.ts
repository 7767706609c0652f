// Finds a model's tensors in a GGUF file by name, checks their shapes and types, and moves them into a backend.
// Loading runs the model's list of tensors twice: first through a TensorChecker, which reads only the header, so a
// missing tensor or a wrong shape is reported before any weight is read; then through a TensorLoader, which uploads.

import { readTensorBytes, type GgufFile, type GgufTensorInfo } from '../formats/gguf';
import type { Backend, BackendWeight } from '../backend/backend';
import { ModelError } from './errors';

/** Where a model gets its weights by name: `W` is a header entry while checking, an uploaded weight while loading. */
export interface WeightSource<W> {
  /** A tensor that must exist and have the given shape (ne order). */
  require(name: string, shape: readonly number[]): Promise<W>;
  /** A tensor the model can do without; if the file has it, its shape must match. */
  optional(name: string, shape: readonly number[]): Promise<W | undefined>;
}

export interface LoadProgress {
  readonly tensorsLoaded: number;
  readonly tensorsTotal: number;
  readonly bytesLoaded: number;
  readonly bytesTotal: number;
}

/** Validates tensors against the header and remembers the ones the model uses. */
export class TensorChecker implements WeightSource<GgufTensorInfo> {
  private readonly byName: Map<string, GgufTensorInfo>;
  /** The tensors asked for and present, each once. */
  readonly used = new Map<string, GgufTensorInfo>();

  constructor(
    readonly file: GgufFile,
    private readonly backend: Backend,
  ) {
    this.byName = new Map(file.tensors.map((t) => [t.name, t]));
  }

  info(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  async require(name: string, shape: readonly number[]): Promise<GgufTensorInfo> {
    const info = await this.optional(name, shape);
    if (!info) throw new ModelError(`missing tensor ${name}`);
    return info;
  }

  async optional(name: string, shape: readonly number[]): Promise<GgufTensorInfo | undefined> {
    const info = this.byName.get(name);
    if (!info) return undefined;
    const actual = trimTrailingOnes(info.shape);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new ModelError(`tensor ${name} has shape [${info.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!this.backend.supports(info.type)) throw new ModelError(`tensor ${name}: type ${info.type.name} is not supported by the ${this.backend.name} backend`);
    this.used.set(name, info);
    return info;
  }
}

/** Uploads checked tensors, reporting progress and stopping when the signal aborts. */
export class TensorLoader implements WeightSource<BackendWeight> {
  private tensorsLoaded = 0;
  private bytesLoaded = 0;
  private readonly bytesTotal: number;

  constructor(
    private readonly blob: Blob,
    private readonly checked: TensorChecker,
    private readonly backend: Backend,
    private readonly onProgress?: (progress: LoadProgress) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.bytesTotal = [...checked.used.values()].reduce((sum, t) => sum + t.bytes, 0);
  }

  async require(name: string, shape: readonly number[]): Promise<BackendWeight> {
    return this.upload(await this.checked.require(name, shape), shape);
  }

  async optional(name: string, shape: readonly number[]): Promise<BackendWeight | undefined> {
    const info = await this.checked.optional(name, shape);
    return info && this.upload(info, shape);
  }

  private async upload(info: GgufTensorInfo, shape: readonly number[]): Promise<BackendWeight> {
    this.signal?.throwIfAborted();
    const bytes = await readTensorBytes(this.blob, info);
    this.signal?.throwIfAborted();
    const weight = this.backend.uploadWeight({ name: info.name, type: info.type, shape }, bytes);
    this.tensorsLoaded++;
    this.bytesLoaded += info.bytes;
    this.onProgress?.({ tensorsLoaded: this.tensorsLoaded, tensorsTotal: this.checked.used.size, bytesLoaded: this.bytesLoaded, bytesTotal: this.bytesTotal });
    return weight;
  }
}

function trimTrailingOnes(shape: readonly number[]): number[] {
  const out = [...shape];
  while (out.length > 1 && out[out.length - 1] === 1) out.pop();
  return out;
}
