// The CPU backend: weights, activations and KV caches live in one WebAssembly
// memory; the SIMD kernels of ./assembly do the arithmetic. Memory is handed
// out by a bump allocator (a model loads its weights once and keeps its
// buffers), and one growing scratch region serves each op's temporary data.
// With threads > 1 the memory is shared with a pool of workers (thread-pool.ts)
// that split matmul rows and attention heads; each output value is computed by
// the same kernel code whatever the split, so results do not depend on the
// number of threads.

import type { GgmlTypeTraits } from '../../quant/types';
import { GgmlType } from '../../quant/types';
import {
  BackendError,
  KV_BYTES_PER_VALUE,
  topValuesOf,
  type AttentionParams,
  type Backend,
  type BackendBuffer,
  type BackendKvCache,
  type BackendWeight,
  type RopeParams,
  type TopValues,
  type WeightInfo,
} from '../backend';
import { checkCount, checkKvRange, checkVector, checkView, needLength, ownedBy, WEIGHT_TYPES, weightGeometry } from '../checks';
import { createKernelMemory, instantiateKernels, loadKernelModule, type KernelExports } from './load-kernels';
import { OP_ATTENTION, OP_MATMUL } from './parallel-ops';
import { isNode, ThreadPool } from './thread-pool';

const PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB. */
const MAX_MEMORY_BYTES = 65536 * PAGE_BYTES;
/** Multiply-adds below which an op runs on the calling thread alone: waking the pool would cost more. */
const MIN_PARALLEL_WORK = 1 << 17;

export interface WasmBackendOptions {
  /** Threads that share matmuls and attention (default 1). Falls back to 1 where shared memory or blocking waits are unavailable. */
  readonly threads?: number;
}

class WasmWeight implements BackendWeight {
  constructor(
    readonly info: WeightInfo,
    readonly cols: number,
    readonly rows: number,
    readonly ptr: number,
    /** The layout id the kernels read it by: its GGML type id, or a grouped layout's (see the kernels' weightLayout). */
    readonly layout: number,
  ) {}
}

class WasmBuffer implements BackendBuffer {
  constructor(
    readonly ptr: number,
    readonly length: number,
  ) {}
}

/**
 * Keys as rows of kvDim values per position; values in blocks of 64 positions (see the attention kernel), whose
 * slots past the context stay 0.
 */
class WasmKvCache implements BackendKvCache {
  /** Bytes of a block of 64 positions' values: one line more than kvDim·64 floats, so that blocks don't alias in the CPU's caches. */
  readonly valueBlockBytes: number;

  constructor(
    readonly nLayers: number,
    readonly nCtx: number,
    readonly kvDim: number,
    readonly keys: number,
    readonly values: number,
  ) {
    this.valueBlockBytes = valueBlockBytes(kvDim);
  }

  /** Byte offset of position `pos` of `layer` within the key area. */
  keyOffset(layer: number, pos: number): number {
    return keyBytes(layer, this.nCtx, this.kvDim) + pos * this.kvDim * KV_BYTES_PER_VALUE;
  }

  /** Byte offset of `layer`'s blocks within the value area. */
  valueOffset(layer: number): number {
    return layer * valueLayerBytes(this.nCtx, this.kvDim);
  }
}

const keyBytes = (nLayers: number, nCtx: number, kvDim: number) => nLayers * nCtx * kvDim * KV_BYTES_PER_VALUE;
const valueBlockBytes = (kvDim: number) => kvDim * 64 * KV_BYTES_PER_VALUE + 64;
const valueLayerBytes = (nCtx: number, kvDim: number) => Math.ceil(nCtx / 64) * valueBlockBytes(kvDim);

export class WasmBackend implements Backend {
  readonly name: string;
  private top: number;
  private scratchPtr = 0;
  private scratchBytes = 0;
  private disposed = false;
  /** The last rope's table and what it was made for: the queries' and keys' ropes, and every layer's, share one. */
  private lastRope: { table: Float32Array; nTokens: number; startPos: number; params: RopeParams } | null = null;

  private constructor(
    private readonly kernels: KernelExports,
    private readonly memory: WebAssembly.Memory,
    private readonly pool: ThreadPool | undefined,
    readonly relaxedSimd: boolean,
  ) {
    this.name = (relaxedSimd ? 'wasm-simd (relaxed)' : 'wasm-simd') + (pool ? ` ×${pool.threads} threads` : '');
    this.top = align(kernels.heapBase());
  }

  /** A backend with its own fresh WebAssembly memory, and `threads − 1` worker threads when threads > 1. */
  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const requested = options.threads ?? 1;
    if (!Number.isInteger(requested) || requested < 1) throw new BackendError(`threads must be a positive integer, got ${requested}`);
    const threads = canShareMemory() ? requested : 1;
    const { module, relaxedSimd } = await loadKernelModule(threads > 1);
    const memory = createKernelMemory(threads > 1);
    const kernels = await instantiateKernels(module, memory);
    const pool = threads > 1 ? await ThreadPool.start(module, memory, kernels, threads) : undefined;
    return new WasmBackend(kernels, memory, pool, relaxedSimd);
  }

  /** Threads that share the work, the calling one included. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  supports(type: GgmlTypeTraits): boolean {
    return WEIGHT_TYPES.has(type.id);
  }

  /** Bytes a weight of `fileBytes` in the file takes once uploaded: more for the grouped layouts (see the kernels' weightLayout). */
  uploadedBytes(info: WeightInfo, fileBytes: number): number {
    const rows = info.shape[1] ?? 1;
    const layout = this.kernels.weightLayout(info.type.id, rows);
    return layout === info.type.id ? fileBytes : this.kernels.rowBytes(layout, info.shape[0]!) * rows;
  }

  uploadWeight(info: WeightInfo, bytes: Uint8Array): BackendWeight {
    if (!this.supports(info.type)) throw new BackendError(`${info.name}: tensor type ${info.type.name} is not supported by the WASM backend`);
    const { cols, rows } = weightGeometry(info, bytes);
    // Q4_0 and Q4_K matrices of a multiple of 8 rows run in tiles of 4 rows, which read them interleaved (as llama.cpp repacks them).
    const layout = this.kernels.weightLayout(info.type.id, rows);
    const size = this.uploadedBytes(info, bytes.byteLength);
    const ptr = this.allocate(size);
    // The file's rows at the end of the weight's place, which repacking rewrites from its start.
    const source = ptr + size - bytes.byteLength;
    this.bytes(source, bytes.byteLength).set(bytes);
    if (layout !== info.type.id) this.kernels.repack(layout, ptr, source, rows, cols, this.scratch(4 * (bytes.byteLength / rows)));
    return new WasmWeight(info, cols, rows, ptr, layout);
  }

  createBuffer(length: number): BackendBuffer {
    checkCount('buffer length', length);
    return new WasmBuffer(this.allocate(length * 4), length);
  }

  view(buffer: BackendBuffer, offset: number, length: number): BackendBuffer {
    const b = this.buffer(buffer);
    checkView(b.length, offset, length);
    return new WasmBuffer(b.ptr + offset * 4, length);
  }

  write(buffer: BackendBuffer, data: Float32Array): void {
    const b = this.buffer(buffer);
    if (data.length > b.length) throw new BackendError(`cannot write ${data.length} values into a buffer of ${b.length}`);
    this.floats(b.ptr, data.length).set(data);
  }

  // Ops run as they are called, so the values are ready now; the promise is the Backend contract's.
  async read(buffer: BackendBuffer): Promise<Float32Array> {
    const b = this.buffer(buffer);
    return this.floats(b.ptr, b.length).slice();
  }

  /**
   * Backend.topK: the selection on the host over the row where it lies, the softmax normalizer by the SIMD
   * kernels (Math.exp over a 32000-token vocabulary took 0.36 ms a token).
   */
  async topK(buffer: BackendBuffer, k: number, extraIds: readonly number[]): Promise<TopValues> {
    const b = this.buffer(buffer);
    const max = this.kernels.maxOf(b.ptr, b.length);
    return topValuesOf(this.floats(b.ptr, b.length), k, extraIds, { max, sumExp: this.kernels.sumExpBelow(b.ptr, b.length, max) });
  }

  createKvCache(nLayers: number, nCtx: number, kvDim: number): BackendKvCache {
    checkCount('layer count', nLayers);
    checkCount('context length', nCtx);
    checkCount('KV width', kvDim);
    // Fresh memory (the allocator never reuses any) is zero.
    return new WasmKvCache(nLayers, nCtx, kvDim, this.allocate(keyBytes(nLayers, nCtx, kvDim)), this.allocate(nLayers * valueLayerBytes(nCtx, kvDim)));
  }

  kvCacheBytes(nLayers: number, nCtx: number, kvDim: number): number {
    return align(keyBytes(nLayers, nCtx, kvDim)) + align(nLayers * valueLayerBytes(nCtx, kvDim));
  }

  embed(weight: BackendWeight, tokens: ArrayLike<number>, out: BackendBuffer): void {
    const w = this.weight(weight);
    const o = this.buffer(out);
    needLength(o, tokens.length * w.cols, 'embedding output');
    for (let t = 0; t < tokens.length; t++) {
      const token = tokens[t]!;
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) throw new BackendError(`token id ${token} is outside the vocabulary of ${w.rows}`);
      this.kernels.dequantizeRow(w.layout, w.ptr, w.cols, token, o.ptr + t * w.cols * 4);
    }
  }

  matmul(weight: BackendWeight, x: BackendBuffer, out: BackendBuffer, nTokens: number): void {
    const w = this.weight(weight);
    const input = this.buffer(x);
    const o = this.buffer(out);
    checkCount('token count', nTokens);
    needLength(input, nTokens * w.cols, `${w.info.name} input`);
    needLength(o, nTokens * w.rows, `${w.info.name} output`);
    const act = this.prepareActivations(w.info.type, input.ptr, w.cols, nTokens);
    if (this.pool && w.rows > 1 && w.rows * w.cols * nTokens >= MIN_PARALLEL_WORK) {
      this.pool.run([OP_MATMUL, w.layout, w.ptr, w.rows, w.cols, act, nTokens, o.ptr]);
    } else {
      this.kernels.matmul(w.layout, w.ptr, w.rows, w.cols, act, nTokens, o.ptr, 0, w.rows);
    }
  }

  rmsNorm(x: BackendBuffer, weight: BackendWeight, out: BackendBuffer, rows: number, eps: number): void {
    const w = this.vectorWeight(weight);
    const input = this.buffer(x);
    const o = this.buffer(out);
    needLength(input, rows * w.cols, 'rmsNorm input');
    needLength(o, rows * w.cols, 'rmsNorm output');
    this.kernels.rmsNorm(input.ptr, w.ptr, o.ptr, w.cols, rows, eps);
  }

  addBias(x: BackendBuffer, bias: BackendWeight, nTokens: number): void {
    const w = this.vectorWeight(bias);
    const b = this.buffer(x);
    needLength(b, nTokens * w.cols, 'addBias input');
    this.kernels.addRows(b.ptr, w.ptr, w.cols, nTokens);
  }

  add(a: BackendBuffer, b: BackendBuffer, out: BackendBuffer): void {
    const [pa, pb, po] = [this.buffer(a), this.buffer(b), this.buffer(out)];
    if (pa.length !== pb.length || pa.length !== po.length) throw new BackendError(`add: lengths ${pa.length}, ${pb.length}, ${po.length} differ`);
    this.kernels.add(pa.ptr, pb.ptr, po.ptr, pa.length);
  }

  siluMul(gate: BackendBuffer, up: BackendBuffer, out: BackendBuffer): void {
    const [pg, pu, po] = [this.buffer(gate), this.buffer(up), this.buffer(out)];
    if (pg.length !== pu.length || pg.length !== po.length) throw new BackendError(`siluMul: lengths ${pg.length}, ${pu.length}, ${po.length} differ`);
    this.kernels.siluMul(pg.ptr, pu.ptr, po.ptr, pg.length);
  }

  rope(x: BackendBuffer, nTokens: number, startPos: number, params: RopeParams): void {
    const b = this.buffer(x);
    const { nHeads, headDim, ropeDims } = params;
    if (ropeDims % 2 !== 0 || ropeDims > headDim) throw new BackendError(`rope: ${ropeDims} rotated dimensions do not fit a head of ${headDim}`);
    needLength(b, nTokens * nHeads * headDim, 'rope input');
    const table = this.ropeTableFor(nTokens, startPos, params);
    const ptr = this.scratch(table.byteLength);
    this.floats(ptr, table.length).set(table);
    this.kernels.rope(b.ptr, nTokens, nHeads, headDim, ropeDims, ptr, params.neox);
  }

  storeKv(cache: BackendKvCache, layer: number, k: BackendBuffer, v: BackendBuffer, startPos: number, nTokens: number): void {
    const c = this.kvCache(cache, layer, startPos, nTokens);
    const [pk, pv] = [this.buffer(k), this.buffer(v)];
    needLength(pk, nTokens * c.kvDim, 'keys');
    needLength(pv, nTokens * c.kvDim, 'values');
    this.kernels.roundRowF16(pk.ptr, c.keys + c.keyOffset(layer, startPos), nTokens * c.kvDim);
    this.kernels.storeValueBlocks(pv.ptr, c.values + c.valueOffset(layer), startPos, nTokens, c.kvDim, c.valueBlockBytes);
  }

  attention(q: BackendBuffer, cache: BackendKvCache, layer: number, out: BackendBuffer, startPos: number, nTokens: number, params: AttentionParams): void {
    const c = this.kvCache(cache, layer, startPos, nTokens);
    const { nHeads, nKvHeads, headDim, scale } = params;
    if (nKvHeads * headDim !== c.kvDim) throw new BackendError(`attention: ${nKvHeads} KV heads of ${headDim} do not match the cache width ${c.kvDim}`);
    if (nHeads % nKvHeads !== 0) throw new BackendError(`attention: ${nHeads} heads are not a multiple of ${nKvHeads} KV heads`);
    if (headDim % 8 !== 0) throw new BackendError(`attention: head size ${headDim} is not a multiple of 8`);
    const [pq, po] = [this.buffer(q), this.buffer(out)];
    needLength(pq, nTokens * nHeads * headDim, 'queries');
    needLength(po, nTokens * nHeads * headDim, 'attention output');
    const [keys, values] = [c.keys + c.keyOffset(layer, 0), c.values + c.valueOffset(layer)];
    const work = nHeads * nTokens * (startPos + nTokens) * headDim;
    if (this.pool && nHeads > 1 && work >= MIN_PARALLEL_WORK) {
      // Per thread, for its share of the heads at most.
      const scratchBytes = align(this.kernels.attentionScratchFloats(startPos + nTokens, headDim, Math.ceil(nHeads / this.pool.threads)) * 4);
      const scratch = this.scratch(scratchBytes * this.pool.threads);
      this.pool.run([OP_ATTENTION, pq.ptr, keys, values, c.valueBlockBytes, po.ptr, nTokens, startPos, nHeads, nKvHeads, headDim, scale, scratch, scratchBytes]);
    } else {
      const scratch = this.scratch(this.kernels.attentionScratchFloats(startPos + nTokens, headDim, nHeads) * 4);
      this.kernels.attention(pq.ptr, keys, values, c.valueBlockBytes, po.ptr, nTokens, startPos, nHeads, nKvHeads, headDim, scale, scratch, 0, nHeads);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
  }

  /** Bytes in use, weights and buffers included. */
  get memoryBytes(): number {
    return this.top;
  }

  // ---- internals ----

  /** Activations in the form the weight type's kernel reads (see assembly/activations.ts). */
  private prepareActivations(type: GgmlTypeTraits, x: number, cols: number, nTokens: number): number {
    const n = cols * nTokens;
    const k = this.kernels;
    if (type.id === GgmlType.F32) return x;
    const out = this.scratch(k.activationRowBytes(type.id, cols) * nTokens);
    if (type.id === GgmlType.F16) k.roundRowF16(x, out, n);
    else if (type.id === GgmlType.BF16) k.roundRowBf16(x, out, n);
    else if (type.blockSize === 256) k.quantizeRowQ8K(x, out, n); // K-quants pair with Q8_K
    else k.quantizeRowQ8(x, out, n);
    return out;
  }

  private allocate(bytes: number): number {
    if (this.disposed) throw new BackendError('backend was disposed');
    const ptr = this.top;
    const end = align(ptr + bytes);
    if (end > MAX_MEMORY_BYTES) throw new BackendError(`out of WebAssembly memory: ${end} bytes needed, 4 GiB is the limit`);
    const memory = this.memory;
    if (end > memory.buffer.byteLength) {
      try {
        memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE_BYTES));
      } catch (error) {
        throw new BackendError(`cannot grow WebAssembly memory to ${end} bytes: ${String(error)}`);
      }
    }
    this.top = end;
    return ptr;
  }

  /** The cos/sin table of a rope, made again only when its positions or frequencies change. */
  private ropeTableFor(nTokens: number, startPos: number, params: RopeParams): Float32Array {
    const last = this.lastRope;
    const same = last !== null && last.nTokens === nTokens && last.startPos === startPos && last.params.ropeDims === params.ropeDims &&
      last.params.freqBase === params.freqBase && last.params.freqScale === params.freqScale && last.params.freqFactors === params.freqFactors;
    if (same) return last.table;
    const table = ropeTable(nTokens, startPos, params);
    this.lastRope = { table, nTokens, startPos, params };
    return table;
  }

  /** A temporary region valid until the next op. */
  private scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      this.scratchBytes = Math.max(bytes, this.scratchBytes * 2);
      this.scratchPtr = this.allocate(this.scratchBytes);
    }
    return this.scratchPtr;
  }

  private bytes(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  private floats(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  private buffer(b: BackendBuffer): WasmBuffer {
    return ownedBy(b, WasmBuffer, 'buffer', 'WASM');
  }

  private weight(w: BackendWeight): WasmWeight {
    return ownedBy(w, WasmWeight, 'weight', 'WASM');
  }

  private vectorWeight(w: BackendWeight): WasmWeight {
    const weight = this.weight(w);
    checkVector(weight);
    return weight;
  }

  private kvCache(cache: BackendKvCache, layer: number, startPos: number, nTokens: number): WasmKvCache {
    const owned = ownedBy(cache, WasmKvCache, 'KV cache', 'WASM');
    checkKvRange(owned, layer, startPos, nTokens);
    return owned;
  }
}

/**
 * Workers need shared memory and a calling thread that may block in Atomics.wait: Node, or a
 * cross-origin isolated page's worker (a page's main thread may not block).
 */
function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (isNode()) return true;
  return globalThis.crossOriginIsolated === true && typeof window === 'undefined';
}

function align(n: number): number {
  return (n + 15) & ~15;
}


/**
 * (cos, sin) of each rotated pair for positions startPos…, computed in f32 the way
 * ggml does: theta starts at the position and is multiplied by base^(−2/ropeDims)
 * for each successive pair.
 */
export function ropeTable(nTokens: number, startPos: number, params: RopeParams): Float32Array {
  const pairs = params.ropeDims / 2;
  const table = new Float32Array(nTokens * pairs * 2);
  const thetaScale = Math.fround(Math.pow(params.freqBase, Math.fround(-2 / params.ropeDims)));
  for (let t = 0; t < nTokens; t++) {
    let theta = Math.fround(startPos + t);
    for (let i = 0; i < pairs; i++) {
      const angle = Math.fround(params.freqScale * Math.fround(theta / (params.freqFactors?.[i] ?? 1)));
      table[(t * pairs + i) * 2] = Math.cos(angle);
      table[(t * pairs + i) * 2 + 1] = Math.sin(angle);
      theta = Math.fround(theta * thetaScale);
    }
  }
  return table;
}
