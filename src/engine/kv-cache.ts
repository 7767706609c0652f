// A model's KV cache plus how many positions of it hold valid entries.

import type { BackendKvCache } from '../backend/backend';
import type { CausalLM } from '../model/model';
import { EngineError } from './errors';

export class KvCache {
  readonly storage: BackendKvCache;
  private used = 0;

  constructor(model: CausalLM, readonly nCtx: number) {
    if (!Number.isInteger(nCtx) || nCtx < 1) throw new EngineError(`context length must be a positive integer, got ${nCtx}`);
    this.storage = model.createCache(nCtx);
  }

  /** Positions filled so far; the next token goes at this position. */
  get length(): number {
    return this.used;
  }

  get free(): number {
    return this.nCtx - this.used;
  }

  /** Records that n more positions were written. */
  advance(n: number): void {
    if (this.used + n > this.nCtx) throw new EngineError(`context full: ${this.used} + ${n} tokens exceed ${this.nCtx}`);
    this.used += n;
  }

  /** Forgets positions from `length` on (entries before it stay valid). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.used) throw new EngineError(`cannot truncate a cache of ${this.used} to ${length}`);
    this.used = length;
  }

  clear(): void {
    this.used = 0;
  }
}
