// Moves a GGUF file's tensors into a backend by name, checking shapes.

import { readTensorBytes, type GgufFile, type GgufTensorInfo } from '../formats/gguf';
import type { Backend, BackendWeight } from '../backend/backend';
import { ModelError } from './errors';

export class TensorLoader {
  private readonly byName: Map<string, GgufTensorInfo>;

  constructor(
    private readonly blob: Blob,
    readonly file: GgufFile,
    private readonly backend: Backend,
  ) {
    this.byName = new Map(file.tensors.map((t) => [t.name, t]));
  }

  info(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  /** Uploads a tensor that must exist and have the given shape (ne order). */
  async require(name: string, shape: readonly number[]): Promise<BackendWeight> {
    const weight = await this.optional(name, shape);
    if (!weight) throw new ModelError(`missing tensor ${name}`);
    return weight;
  }

  /** Uploads a tensor if the file has it; its shape must match. */
  async optional(name: string, shape: readonly number[]): Promise<BackendWeight | undefined> {
    const info = this.byName.get(name);
    if (!info) return undefined;
    const actual = trimTrailingOnes(info.shape);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new ModelError(`tensor ${name} has shape [${info.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!this.backend.supports(info.type)) throw new ModelError(`tensor ${name}: type ${info.type.name} is not supported by the ${this.backend.name} backend`);
    const bytes = await readTensorBytes(this.blob, info);
    return this.backend.uploadWeight({ name, type: info.type, shape }, bytes);
  }
}

function trimTrailingOnes(shape: readonly number[]): number[] {
  const out = [...shape];
  while (out.length > 1 && out[out.length - 1] === 1) out.pop();
  return out;
}
