// The WebGPU backend: weights stay in their GGUF byte layout in storage buffers and the kernels of shaders/*.wgsl
// dequantize them on the fly. Ops are recorded into one command encoder; nothing runs until a read or a write
// submits it, so a whole forward pass is one command buffer.

import activationsShader from '../../../shaders/activations.wgsl?raw';
import attentionParamsShader from '../../../shaders/attention-params.wgsl?raw';
import attentionPrefillShader from '../../../shaders/attention-prefill.wgsl?raw';
import attentionSplitShader from '../../../shaders/attention-split.wgsl?raw';
import attentionShader from '../../../shaders/attention.wgsl?raw';
import dequantShader from '../../../shaders/dequant.wgsl?raw';
import elementwiseShader from '../../../shaders/elementwise.wgsl?raw';
import embedShader from '../../../shaders/embed.wgsl?raw';
import matmulParamsShader from '../../../shaders/matmul-params.wgsl?raw';
import matmulTiledShader from '../../../shaders/matmul-tiled.wgsl?raw';
import matmulShader from '../../../shaders/matmul.wgsl?raw';
import matvecReduceSharedShader from '../../../shaders/matvec-reduce-shared.wgsl?raw';
import matvecReduceSubgroupsShader from '../../../shaders/matvec-reduce-subgroups.wgsl?raw';
import matvecShader from '../../../shaders/matvec.wgsl?raw';
import normShader from '../../../shaders/norm.wgsl?raw';
import piecesShader from '../../../shaders/pieces.wgsl?raw';
import ropeShader from '../../../shaders/rope.wgsl?raw';
import topkShader from '../../../shaders/topk.wgsl?raw';
import { GgmlType, type GgmlTypeTraits } from '../../quant/types';
import {
  BackendError,
  checkTopRequest,
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
import { ropeTable } from '../wasm/wasm-backend';
import { findAdapter, isSoftwareAdapter, requestFullDevice } from './adapter';

/** Workgroup size of every kernel. */
const LANES = 64;
/** Size of every kernel's uniform parameters at most (the split-K attention kernel's eleven words), rounded up. */
const UNIFORM_BYTES = 48;
/** Parameter slots of the first uniform buffer: more than a forward pass of a 32-layer model records. */
const INITIAL_UNIFORM_SLOTS = 2048;
/** Must match TOKENS_PER_GROUP in matmul.wgsl. */
const MATMUL_TOKENS_PER_GROUP = 8;
/** Batches of at most this many tokens (decoding) take the GPU kernels; longer ones (prefill) the per-row and per-dim ones. */
const DECODE_MAX_TOKENS = 4;
/** Must match TILE_ROWS and TILE_TOKENS in matmul-tiled.wgsl. */
const TILED_ROWS = 64;
const TILED_TOKENS = 64;
/** Must match ROWS_PER_WORKGROUP in matvec.wgsl. */
const MATVEC_ROWS_PER_WORKGROUP = 4;
/** Must match CHUNK and MAX_HEAD_DIM in attention-split.wgsl. */
const ATTENTION_CHUNK = 128;
const ATTENTION_SPLIT_MAX_HEAD_DIM = 256;
/** Must match BLOCK_Q and the head dimensions attention-prefill.wgsl stages. */
const ATTENTION_PREFILL_QUERIES = 16;
const ATTENTION_PREFILL_MAX_HEAD_DIM = 256;
/** Must match SLICE in topk.wgsl. */
const TOPK_SLICE = 4096;
/** The largest k that topK selects on the GPU (its cost grows with k × (slice + slices × k)). */
const TOPK_MAX = 1024;

/** Consecutive rows of a weight that fit one storage buffer binding. */
interface WeightPart {
  readonly buffer: GPUBuffer;
  readonly firstRow: number;
  readonly rows: number;
}

class GpuWeight implements BackendWeight {
  constructor(
    readonly info: WeightInfo,
    readonly cols: number,
    readonly rows: number,
    readonly rowBytes: number,
    readonly parts: readonly WeightPart[],
  ) {}
}

class GpuBuffer implements BackendBuffer {
  constructor(
    readonly buffer: GPUBuffer,
    /** First element of this view within `buffer`. */
    readonly offset: number,
    readonly length: number,
  ) {}
}

/** Bytes of the keys, or of the values, of a KV cache: a row of kvDim values per position and layer. */
const cacheHalfBytes = (nLayers: number, nCtx: number, kvDim: number) => nLayers * nCtx * kvDim * KV_BYTES_PER_VALUE;

class GpuKvCache implements BackendKvCache {
  constructor(
    readonly nLayers: number,
    readonly nCtx: number,
    readonly kvDim: number,
    readonly keys: GPUBuffer,
    readonly values: GPUBuffer,
  ) {}
}

/**
 * The GPU failed under the backend: its device was lost (driver reset, tab in the background too long, destroyed),
 * or it could not allocate or fill a buffer. Nothing this backend holds is usable any more: run the model elsewhere.
 */
export class GpuDeviceError extends BackendError {
  constructor(message: string) {
    super(message);
    this.name = 'GpuDeviceError';
  }
}

/**
 * Matrix-vector kernel of decoding steps: 'per-row' (matmul.wgsl, one invocation per output row, no barriers: for
 * CPU-backed WebGPU such as SwiftShader) or 'cooperative' (matvec.wgsl, a workgroup per four rows reading the
 * weights coalesced: for GPUs). Batches of more than DECODE_MAX_TOKENS tokens take the prefill kernel.
 */
export type MatvecKernel = 'per-row' | 'cooperative';
/**
 * Attention kernel of decoding steps: 'per-dim' (attention.wgsl, one invocation per output value, for SwiftShader)
 * or 'split-k' (attention-split.wgsl, flash decoding: a workgroup per chunk of positions, then a combine, for GPUs).
 */
export type AttentionKernel = 'per-dim' | 'split-k';
/**
 * Kernels of prefill batches (more than DECODE_MAX_TOKENS tokens): 'per-row' (matmul.wgsl and attention.wgsl, for
 * SwiftShader, where workgroup memory makes each pipeline compile for seconds and barriers cost more than small
 * rows) or 'tiled' (matmul-tiled.wgsl, 64 rows × 64 tokens per workgroup, and attention-prefill.wgsl, flash
 * attention over blocks of 16 queries, both through workgroup memory: for GPUs).
 */
export type PrefillKernel = 'per-row' | 'tiled';

export interface WebGpuBackendOptions {
  /** A device to use (default: one from navigator.gpu with the adapter's largest buffer limits and its subgroups). */
  readonly device?: GPUDevice;
  /** Bytes per weight buffer at most (default: the device's binding and buffer limits); larger weights are split by rows. */
  readonly maxWeightBufferBytes?: number;
  /** Default: 'cooperative' on hardware adapters, 'per-row' on software ones. */
  readonly matvec?: MatvecKernel;
  /** Default: 'split-k' on hardware adapters, 'per-dim' on software ones. */
  readonly attention?: AttentionKernel;
  /** Default: 'tiled' on hardware adapters, 'per-row' on software ones. */
  readonly prefill?: PrefillKernel;
  /** Whether the cooperative matvec sums with subgroup operations (default: where the device has the `subgroups` feature). */
  readonly subgroups?: boolean;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  private readonly compiledKernels = new Map<string, Kernel>();
  private readonly modules = new Map<string, { module: GPUShaderModule; layout: GPUBindGroupLayout }>();
  private encoder: GPUCommandEncoder | undefined;
  /** The compute pass that dispatches are recorded into, ended by a copy or the submit. */
  private pass: GPUComputePassEncoder | undefined;
  /** Table, token and intermediate buffers of the recorded ops, released once they are submitted. */
  private temporaries: GPUBuffer[] = [];
  /**
   * Intermediate buffers by use (rounded activations, attention chunks), each read only by the dispatch right after
   * the one writing it: one buffer per use serves every op, grown when an op needs more.
   */
  private readonly scratchBuffers = new Map<string, GPUBuffer>();
  /**
   * Parameters of the recorded dispatches: one slot each in one uniform buffer, bound at a dynamic offset, so that one
   * bind group serves every dispatch of a kernel over the same buffers (making one costs more than a small
   * dispatch). The slots are filled in `uniformStaging` and uploaded at the submit.
   */
  private uniformBuffer!: GPUBuffer;
  private uniformStaging!: Uint32Array;
  private uniformSlotsUsed = 0;
  private readonly uniformSlotBytes: number;
  /** Bind groups by kernel source and buffers (see bindGroup). */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  /** Everything this backend created, destroyed by dispose. */
  private readonly owned: GPUBuffer[] = [];
  private disposed = false;
  /** Set once the device is lost or an upload failed; every later op throws it. */
  private failure: GpuDeviceError | undefined;
  /** Error scopes of the uploads not yet looked at (they resolve asynchronously). */
  private uploadChecks: Promise<GpuDeviceError | undefined>[] = [];

  private readonly maxWeightBufferBytes: number;
  readonly matvecKernel: MatvecKernel;
  readonly attentionKernel: AttentionKernel;
  readonly prefillKernel: PrefillKernel;
  /** Whether the cooperative matvec sums with subgroupAdd. */
  readonly subgroups: boolean;
  /** Which kernels decoding steps run, for the UI and benchmarks, e.g. "cooperative matvec (subgroups), split-K attention". */
  readonly kernels: string;

  private constructor(readonly device: GPUDevice, software: boolean, options: WebGpuBackendOptions) {
    const limits = device.limits;
    // Parts hold whole rows; shaders index them with 32-bit byte offsets.
    this.maxWeightBufferBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, 2 ** 32 - 4, options.maxWeightBufferBytes ?? Infinity);
    this.uniformSlotBytes = Math.ceil(UNIFORM_BYTES / limits.minUniformBufferOffsetAlignment) * limits.minUniformBufferOffsetAlignment;
    this.createUniformSlots(INITIAL_UNIFORM_SLOTS);
    this.matvecKernel = options.matvec ?? (software ? 'per-row' : 'cooperative');
    this.prefillKernel = options.prefill ?? (software ? 'per-row' : 'tiled');
    this.attentionKernel = options.attention ?? (software ? 'per-dim' : 'split-k');
    const hasSubgroups = device.features.has('subgroups');
    if (options.subgroups && !hasSubgroups) throw new BackendError('subgroups were asked for, but the WebGPU device lacks the `subgroups` feature');
    this.subgroups = options.subgroups ?? hasSubgroups;
    const matvec = this.matvecKernel === 'cooperative' ? `cooperative matvec (${this.subgroups ? 'subgroups' : 'workgroup memory'})` : 'per-row matvec';
    const prefill = this.prefillKernel === 'tiled' ? 'tiled prefill' : 'per-row prefill';
    this.kernels = `${matvec}, ${prefill}, ${this.attentionKernel === 'split-k' ? 'split-K attention' : 'per-dim attention'}`;
    void device.lost.then((info) => {
      this.failure ??= new GpuDeviceError(`WebGPU device lost: ${info.message || info.reason}`);
    });
  }

  static async create(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    if (options.device) {
      // Browsers before 2025 lack device.adapterInfo: take such a device for a GPU.
      const info = (options.device as Partial<GPUDevice>).adapterInfo;
      return new WebGpuBackend(options.device, info !== undefined && isSoftwareAdapter(info), options);
    }
    const found = await findAdapter();
    if (!found) throw new BackendError('WebGPU is not available here (no adapter)');
    return new WebGpuBackend(await requestFullDevice(found.adapter), found.software, options);
  }

  /**
   * Throws the GpuDeviceError of a lost device or of a failed upload (the GPU reports those asynchronously, so
   * uploadWeight cannot): call it after uploading the weights. Reads check it too.
   */
  async checkHealth(): Promise<void> {
    const checks = this.uploadChecks;
    this.uploadChecks = [];
    for (const failure of await Promise.all(checks)) this.failure ??= failure;
    if (this.failure) throw this.failure;
  }

  supports(type: GgmlTypeTraits): boolean {
    return WEIGHT_TYPES.has(type.id);
  }

  uploadWeight(info: WeightInfo, bytes: Uint8Array): BackendWeight {
    if (!this.supports(info.type)) throw new BackendError(`${info.name}: tensor type ${info.type.name} is not supported by the WebGPU backend`);
    const { cols, rows, rowBytes } = weightGeometry(info, bytes);
    // The last word of a part may be padding.
    const rowsPerPart = Math.floor((this.maxWeightBufferBytes - 3) / rowBytes);
    if (rowsPerPart < 1) throw new BackendError(`${info.name}: a row of ${rowBytes} bytes exceeds the buffer limit of ${this.maxWeightBufferBytes}`);
    const parts: WeightPart[] = [];
    for (let firstRow = 0; firstRow < rows; firstRow += rowsPerPart) {
      const partRows = Math.min(rowsPerPart, rows - firstRow);
      const partBytes = bytes.subarray(firstRow * rowBytes, (firstRow + partRows) * rowBytes);
      parts.push({ buffer: this.uploadBytes(info.name, partBytes), firstRow, rows: partRows });
    }
    return new GpuWeight(info, cols, rows, rowBytes, parts);
  }

  createBuffer(length: number): BackendBuffer {
    checkCount('buffer length', length);
    return new GpuBuffer(this.storageBuffer('activations', length * 4), 0, length);
  }

  view(buffer: BackendBuffer, offset: number, length: number): BackendBuffer {
    const b = this.buffer(buffer);
    checkView(b.length, offset, length);
    return new GpuBuffer(b.buffer, b.offset + offset, length);
  }

  write(buffer: BackendBuffer, data: Float32Array): void {
    const b = this.buffer(buffer);
    if (data.length > b.length) throw new BackendError(`cannot write ${data.length} values into a buffer of ${b.length}`);
    // Queue writes run before any command buffer submitted after them: recorded ops go first.
    this.submit();
    this.device.queue.writeBuffer(b.buffer, b.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(buffer: BackendBuffer): Promise<Float32Array> {
    await this.checkHealth();
    const b = this.buffer(buffer);
    const bytes = b.length * 4;
    const staging = this.device.createBuffer({ label: 'readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.commands().copyBufferToBuffer(b.buffer, b.offset * 4, staging, 0, bytes);
    this.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ);
      return new Float32Array(staging.getMappedRange().slice(0));
    } catch (error) {
      // A lost device rejects the mapping, possibly before its `lost` promise has resolved.
      throw this.failure ?? new GpuDeviceError(`WebGPU could not read a result back: ${(error as Error).message}`);
    } finally {
      staging.destroy();
    }
  }



  /**
   * Backend.topK on the GPU (shaders/topk.wgsl): only k indices and values, the extra values and the normalizer come
   * back. Each of its two passes takes k rounds over its candidates, so a k above TOPK_MAX reads the row back instead.
   */
  async topK(buffer: BackendBuffer, k: number, extraIds: readonly number[]): Promise<TopValues> {
    const b = this.buffer(buffer);
    checkCount('top-k row length', b.length);
    checkTopRequest(b.length, k, extraIds);
    const count = Math.min(k, b.length);
    if (count > TOPK_MAX) return topValuesOf(await this.read(b), count, extraIds);
    const slices = Math.ceil(b.length / TOPK_SLICE);
    const partialWords = slices * (2 + 2 * Math.min(count, TOPK_SLICE));
    const resultWords = 2 + 2 * count + extraIds.length;
    const partial = this.device.createBuffer({ label: 'top-k slices', size: bufferSize(partialWords * 4), usage: GPUBufferUsage.STORAGE });
    const result = this.device.createBuffer({ label: 'top-k', size: bufferSize(resultWords * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    this.temporaries.push(partial, result);
    const buffers = [b.buffer, this.temporary(new Uint32Array(extraIds.length > 0 ? extraIds : [0])), partial, result];
    const params = new Uint32Array([b.length, b.offset, count, slices, extraIds.length]);
    this.dispatch(this.kernel('topk', 'select_slices'), buffers, params, [slices, 1, 1]);
    this.dispatch(this.kernel('topk', 'merge_slices'), buffers, params, [1, 1, 1]);
    const words = await this.read(new GpuBuffer(result, 0, resultWords));
    return {
      ids: new Int32Array(words.buffer, 2 * 4, count),
      values: words.subarray(2 + count, 2 + 2 * count),
      extraValues: words.subarray(2 + 2 * count),
      max: words[0]!,
      sumExp: words[1]!,
    };
  }

  createKvCache(nLayers: number, nCtx: number, kvDim: number): BackendKvCache {
    checkCount('layer count', nLayers);
    checkCount('context length', nCtx);
    checkCount('KV width', kvDim);
    const bytes = cacheHalfBytes(nLayers, nCtx, kvDim);
    return new GpuKvCache(nLayers, nCtx, kvDim, this.storageBuffer('keys', bytes), this.storageBuffer('values', bytes));
  }

  kvCacheBytes(nLayers: number, nCtx: number, kvDim: number): number {
    return 2 * cacheHalfBytes(nLayers, nCtx, kvDim);
  }

  embed(weight: BackendWeight, tokens: ArrayLike<number>, out: BackendBuffer): void {
    const w = this.weight(weight);
    const o = this.buffer(out);
    needLength(o, tokens.length * w.cols, 'embedding output');
    const ids = new Uint32Array(tokens.length);
    for (let t = 0; t < tokens.length; t++) {
      const token = tokens[t]!;
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) throw new BackendError(`token id ${token} is outside the vocabulary of ${w.rows}`);
      ids[t] = token;
    }
    const idBuffer = this.temporary(ids);
    for (const part of w.parts) {
      const params = new Uint32Array([w.cols, tokens.length, w.rowBytes, part.firstRow, part.rows, o.offset]);
      this.dispatch(this.kernel('embed', 'embed', { WEIGHT_TYPE: w.info.type.id }), [part.buffer, idBuffer, o.buffer], params, [Math.ceil(w.cols / LANES), tokens.length, 1]);
    }
  }

  matmul(weight: BackendWeight, x: BackendBuffer, out: BackendBuffer, nTokens: number): void {
    const w = this.weight(weight);
    const input = this.buffer(x);
    const o = this.buffer(out);
    checkCount('token count', nTokens);
    needLength(input, nTokens * w.cols, `${w.info.name} input`);
    needLength(o, nTokens * w.rows, `${w.info.name} output`);
    const rounded = this.roundActivations(w.info.type, input, nTokens * w.cols);
    const product = this.productKernel(w.info.type.id, nTokens);
    this.writeOutput(o, [rounded], (target) => {
      for (const part of w.parts) {
        const [groupsX, groupsY] = this.spread(Math.ceil(part.rows / product.rowsPerGroup));
        const params = new Uint32Array([part.rows, w.cols, nTokens, w.rowBytes, part.firstRow, rounded.offset, target.offset, w.rows, groupsX]);
        const groups: [number, number, number] = [groupsX, groupsY, Math.ceil(nTokens / product.tokensPerGroup)];
        this.dispatch(product.kernel, [part.buffer, rounded.buffer, target.buffer], params, groups);
      }
    });
  }

  /**
   * The product kernel for a batch of nTokens (see MatvecKernel and PrefillKernel), and how its workgroups cover the
   * output: rows per workgroup (spread over x and y), tokens per workgroup (along z).
   */
  private productKernel(weightType: number, nTokens: number): { kernel: Kernel; rowsPerGroup: number; tokensPerGroup: number } {
    const decoding = nTokens <= DECODE_MAX_TOKENS;
    if (decoding && this.matvecKernel === 'cooperative') {
      const kernel = this.kernel(this.subgroups ? 'matvecSubgroups' : 'matvecShared', 'matvec', { WEIGHT_TYPE: weightType, TOKENS: nTokens });
      return { kernel, rowsPerGroup: MATVEC_ROWS_PER_WORKGROUP, tokensPerGroup: DECODE_MAX_TOKENS };
    }
    if (!decoding && this.prefillKernel === 'tiled') {
      return { kernel: this.kernel('matmulTiled', 'matmul_tiled', { WEIGHT_TYPE: weightType }), rowsPerGroup: TILED_ROWS, tokensPerGroup: TILED_TOKENS };
    }
    return { kernel: this.kernel('matmul', 'matmul', { WEIGHT_TYPE: weightType }), rowsPerGroup: LANES, tokensPerGroup: MATMUL_TOKENS_PER_GROUP };
  }

  rmsNorm(x: BackendBuffer, weight: BackendWeight, out: BackendBuffer, rows: number, eps: number): void {
    const w = this.vectorWeight(weight);
    const input = this.buffer(x);
    const o = this.buffer(out);
    checkCount('row count', rows);
    needLength(input, rows * w.cols, 'rmsNorm input');
    needLength(o, rows * w.cols, 'rmsNorm output');
    const [groupsX, groupsY] = this.spread(rows);
    this.writeOutput(o, [input], (target) => {
      const params = new Uint32Array([w.cols, input.offset, target.offset, 0, groupsX, rows]);
      new Float32Array(params.buffer)[3] = eps;
      this.dispatch(this.kernel('norm', 'rms_norm'), [w.parts[0]!.buffer, input.buffer, target.buffer], params, [groupsX, groupsY, 1]);
    });
  }

  addBias(x: BackendBuffer, bias: BackendWeight, nTokens: number): void {
    const w = this.vectorWeight(bias);
    const b = this.buffer(x);
    needLength(b, nTokens * w.cols, 'addBias input');
    this.elementwise('add_bias', b, new GpuBuffer(w.parts[0]!.buffer, 0, w.cols), b, nTokens * w.cols, w.cols);
  }

  add(a: BackendBuffer, b: BackendBuffer, out: BackendBuffer): void {
    const [ba, bb, bo] = [this.buffer(a), this.buffer(b), this.buffer(out)];
    if (ba.length !== bb.length || ba.length !== bo.length) throw new BackendError(`add: lengths ${ba.length}, ${bb.length}, ${bo.length} differ`);
    this.elementwise('add', ba, bb, bo, ba.length);
  }

  siluMul(gate: BackendBuffer, up: BackendBuffer, out: BackendBuffer): void {
    const [bg, bu, bo] = [this.buffer(gate), this.buffer(up), this.buffer(out)];
    if (bg.length !== bu.length || bg.length !== bo.length) throw new BackendError(`siluMul: lengths ${bg.length}, ${bu.length}, ${bo.length} differ`);
    this.elementwise('silu_mul', bg, bu, bo, bg.length);
  }

  rope(x: BackendBuffer, nTokens: number, startPos: number, params: RopeParams): void {
    const b = this.buffer(x);
    const { nHeads, headDim, ropeDims } = params;
    if (ropeDims % 2 !== 0 || ropeDims > headDim) throw new BackendError(`rope: ${ropeDims} rotated dimensions do not fit a head of ${headDim}`);
    checkCount('token count', nTokens);
    needLength(b, nTokens * nHeads * headDim, 'rope input');
    const table = this.temporary(ropeTable(nTokens, startPos, params));
    const uniform = new Uint32Array([nTokens, nHeads, headDim, ropeDims, params.neox ? 1 : 0, b.offset]);
    this.dispatch(this.kernel('rope', 'rope'), [table, b.buffer], uniform, [Math.ceil(ropeDims / 2 / LANES), nHeads, nTokens]);
  }

  storeKv(cache: BackendKvCache, layer: number, k: BackendBuffer, v: BackendBuffer, startPos: number, nTokens: number): void {
    const c = this.kvCache(cache, layer, startPos, nTokens);
    const [bk, bv] = [this.buffer(k), this.buffer(v)];
    const n = nTokens * c.kvDim;
    needLength(bk, n, 'keys');
    needLength(bv, n, 'values');
    const offset = (layer * c.nCtx + startPos) * c.kvDim;
    this.elementwise('store_f16', bk, bk, new GpuBuffer(c.keys, offset, n), n);
    this.elementwise('store_f16', bv, bv, new GpuBuffer(c.values, offset, n), n);
  }

  attention(q: BackendBuffer, cache: BackendKvCache, layer: number, out: BackendBuffer, startPos: number, nTokens: number, params: AttentionParams): void {
    const c = this.kvCache(cache, layer, startPos, nTokens);
    const { nHeads, nKvHeads, headDim, scale } = params;
    if (nKvHeads * headDim !== c.kvDim) throw new BackendError(`attention: ${nKvHeads} KV heads of ${headDim} do not match the cache width ${c.kvDim}`);
    if (nHeads % nKvHeads !== 0) throw new BackendError(`attention: ${nHeads} heads are not a multiple of ${nKvHeads} KV heads`);
    const [bq, bo] = [this.buffer(q), this.buffer(out)];
    needLength(bq, nTokens * nHeads * headDim, 'queries');
    needLength(bo, nTokens * nHeads * headDim, 'attention output');
    const decoding = nTokens <= DECODE_MAX_TOKENS;
    // The split-K kernel reads keys as quads and keeps the query in workgroup memory.
    const splitK = decoding && this.attentionKernel === 'split-k' && headDim % 4 === 0 && headDim <= ATTENTION_SPLIT_MAX_HEAD_DIM;
    const tiled = !decoding && this.prefillKernel === 'tiled' && headDim <= ATTENTION_PREFILL_MAX_HEAD_DIM;
    const chunks = Math.ceil((startPos + nTokens) / ATTENTION_CHUNK);
    this.writeOutput(bo, [bq], (target) => {
      const params32 = new Uint32Array([nTokens, startPos, nHeads, nKvHeads, headDim, c.kvDim, 0, bq.offset, target.offset, layer * c.nCtx * c.kvDim, chunks]);
      new Float32Array(params32.buffer)[6] = scale;
      const outputGroups: [number, number, number] = [Math.ceil(headDim / LANES), nHeads, nTokens];
      if (tiled) {
        const groups: [number, number, number] = [Math.ceil(nTokens / ATTENTION_PREFILL_QUERIES), nHeads, 1];
        this.dispatch(this.kernel('attentionPrefill', 'attention_prefill'), [bq.buffer, c.keys, c.values, target.buffer], params32, groups);
        return;
      }
      if (!splitK) {
        this.dispatch(this.kernel('attention', 'attention'), [bq.buffer, c.keys, c.values, target.buffer], params32, outputGroups);
        return;
      }
      // Per chunk: headDim weighted value sums, a maximum and a sum of exponentials.
      const partials = this.scratch('attention chunks', nTokens * nHeads * chunks * (headDim + 2));
      const buffers = [bq.buffer, c.keys, c.values, partials, target.buffer];
      this.dispatch(this.kernel('attentionSplit', 'attention_chunk'), buffers, params32, [chunks, nHeads, nTokens]);
      this.dispatch(this.kernel('attentionSplit', 'attention_combine'), buffers, params32, outputGroups);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.submit();
    this.disposed = true;
    for (const buffer of [...this.owned, this.uniformBuffer]) buffer.destroy();
    this.owned.length = 0;
    this.bindGroups.clear();
  }

  // ---- internals ----

  private elementwise(entryPoint: string, a: GpuBuffer, b: GpuBuffer, out: GpuBuffer, n: number, width = 1): void {
    const [groupsX, groupsY] = this.spread(Math.ceil(n / LANES));
    this.writeOutput(out, [a, b], (target) => {
      const params = new Uint32Array([n, a.offset, b.offset, target.offset, width, groupsX]);
      this.dispatch(this.kernel('elementwise', entryPoint), [a.buffer, b.buffer, target.buffer], params, [groupsX, groupsY, 1]);
    });
  }

  /**
   * The activations as llama.cpp's CPU matmul sees them against a weight of `type` (see activations.wgsl), in a
   * temporary buffer; F32 weights take them unchanged.
   */
  private roundActivations(type: GgmlTypeTraits, x: GpuBuffer, n: number): GpuBuffer {
    if (type.id === GgmlType.F32) return x;
    const mode = type.id === GgmlType.F16 ? 2 : type.id === GgmlType.BF16 ? 3 : type.blockSize === 256 ? 1 : 0;
    const block = type.quantized ? type.blockSize : 32;
    const rounded = this.scratch('rounded activations', n);
    const [groupsX, groupsY] = this.spread(Math.ceil(n / block / LANES));
    const params = new Uint32Array([n, mode, block, x.offset, 0, groupsX]);
    this.dispatch(this.kernel('activations', 'quantize_activations'), [x.buffer, rounded], params, [groupsX, groupsY, 1]);
    return new GpuBuffer(rounded, 0, n);
  }

  /**
   * Runs `record` with a target for `out`. WebGPU forbids binding a buffer that a dispatch writes to any other
   * binding of it: when `out` shares its GPU buffer with an input (in-place ops), the kernel writes a temporary
   * buffer, copied into `out` afterwards.
   */
  private writeOutput(out: GpuBuffer, inputs: GpuBuffer[], record: (target: GpuBuffer) => void): void {
    if (!inputs.some((input) => input.buffer === out.buffer)) {
      record(out);
      return;
    }
    const bytes = out.length * 4;
    const temporary = this.device.createBuffer({ label: 'in-place output', size: bufferSize(bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    this.temporaries.push(temporary);
    record(new GpuBuffer(temporary, 0, out.length));
    this.commands().copyBufferToBuffer(temporary, 0, out.buffer, out.offset * 4, bytes);
  }

  /** Workgroup counts along x and y that cover `groups` while staying under the per-dimension limit. */
  private spread(groups: number): [number, number] {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [groups, 1];
    const y = Math.ceil(groups / max);
    return [Math.ceil(groups / y), y];
  }

  /** Records a kernel over `buffers` (its storage bindings in order) with `params` as its uniform binding. */
  private dispatch(kernel: Kernel, buffers: GPUBuffer[], params: Uint32Array, groups: [number, number, number]): void {
    const offset = this.uniformSlot(params);
    const bindGroup = this.bindGroup(kernel, buffers);
    // One pass for consecutive dispatches: WebGPU still orders each dispatch's writes before the next one's reads.
    this.pass ??= this.commands().beginComputePass();
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, bindGroup, [offset]);
    this.pass.dispatchWorkgroups(...groups);
  }

  /**
   * The bind group of a kernel source's layout over `buffers` and the uniform slots, made once and kept, except
   * over a temporary buffer (released at the submit).
   */
  private bindGroup(kernel: Kernel, buffers: GPUBuffer[]): GPUBindGroup {
    const entries = [...buffers, this.uniformBuffer];
    const key = `${kernel.file}:${entries.map((buffer) => this.bufferId(buffer)).join(',')}`;
    const kept = this.bindGroups.get(key);
    if (kept) return kept;
    const bindGroup = this.device.createBindGroup({
      layout: kernel.layout,
      entries: entries.map((buffer, binding) => ({ binding, resource: binding === buffers.length ? { buffer, size: UNIFORM_BYTES } : { buffer } })),
    });
    if (!buffers.some((buffer) => this.temporaries.includes(buffer))) this.bindGroups.set(key, bindGroup);
    return bindGroup;
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /** The command encoder, for commands outside compute passes (the open pass is ended first). */
  private commands(): GPUCommandEncoder {
    this.checkUsable();
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'forward pass' });
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Sends the recorded ops to the GPU. */
  private submit(): void {
    if (!this.encoder) return;
    this.endPass();
    this.uploadUniformSlots();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    for (const buffer of this.temporaries) buffer.destroy();
    this.temporaries = [];
  }

  /** The pipeline of `entryPoint` in the kernel source `file` (see SHADERS) with these override constants, compiled once. */
  private kernel(file: keyof typeof SHADERS, entryPoint: string, constants?: Record<string, number>): Kernel {
    const key = `${file}:${entryPoint}:${constants ? Object.entries(constants).join(';') : ''}`;
    let kernel = this.compiledKernels.get(key);
    if (!kernel) {
      let compiled = this.modules.get(file);
      if (!compiled) {
        const { code, bindings } = SHADERS[file];
        compiled = {
          module: this.device.createShaderModule({ label: `${file}.wgsl`, code }),
          layout: this.device.createBindGroupLayout({
            label: file,
            // The uniform parameters sit at a dynamic offset in one buffer (see uniformSlot).
            entries: bindings.map((kind, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: BUFFER_BINDING_TYPES[kind], hasDynamicOffset: kind === 'uniform' } })),
          }),
        };
        this.modules.set(file, compiled);
      }
      const pipeline = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [compiled.layout] }),
        compute: { module: compiled.module, entryPoint, constants },
      });
      kernel = { file, pipeline, layout: compiled.layout };
      this.compiledKernels.set(key, kernel);
    }
    return kernel;
  }

  private checkUsable(): void {
    if (this.disposed) throw new BackendError('backend was disposed');
    if (this.failure) throw this.failure;
  }

  private storageBuffer(label: string, bytes: number): GPUBuffer {
    this.checkUsable();
    const limits = this.device.limits;
    const max = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    if (bytes > max) throw new BackendError(`${label}: ${bytes} bytes exceed the device's storage buffer limit of ${max}`);
    const buffer = this.device.createBuffer({
      label,
      // Whole 16-byte units where the limit leaves room (only the largest weight parts, never read as vec4s, do not).
      size: Math.min(bufferSize(bytes), Math.floor(max / 4) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.owned.push(buffer);
    return buffer;
  }

  /** A buffer holding `bytes`; allocation and validation failures surface in checkHealth as GpuDeviceErrors. */
  private uploadBytes(label: string, bytes: Uint8Array): GPUBuffer {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    try {
      return this.fillBuffer(label, bytes);
    } finally {
      const scopes = [this.device.popErrorScope(), this.device.popErrorScope()];
      this.uploadChecks.push(
        Promise.all(scopes).then(
          ([invalid, outOfMemory]) => {
            const error = outOfMemory ?? invalid;
            if (!error) return undefined;
            const kind = outOfMemory ? 'out of GPU memory' : 'rejected by WebGPU';
            return new GpuDeviceError(`${label} (${bytes.byteLength} bytes): ${kind}: ${error.message}`);
          },
          (error: Error) => new GpuDeviceError(`${label}: WebGPU upload failed: ${error.message}`),
        ),
      );
    }
  }

  private fillBuffer(label: string, bytes: Uint8Array): GPUBuffer {
    const buffer = this.storageBuffer(label, bytes.byteLength);
    // writeBuffer needs a multiple of 4 bytes: the padding of the last word stays zero.
    const whole = bytes.byteLength & ~3;
    if (whole > 0) this.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, whole);
    if (whole < bytes.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(whole));
      this.device.queue.writeBuffer(buffer, whole, tail);
    }
    return buffer;
  }

  /** The scratch buffer of `use` (see scratchBuffers), with room for `floats` values. */
  private scratch(use: string, floats: number): GPUBuffer {
    const size = bufferSize(floats * 4);
    const current = this.scratchBuffers.get(use);
    if (current && current.size >= size) return current;
    // Recorded ops may still use the smaller one.
    if (current) this.temporaries.push(current);
    const buffer = this.device.createBuffer({ label: use, size, usage: GPUBufferUsage.STORAGE });
    this.scratchBuffers.set(use, buffer);
    this.owned.push(buffer);
    return buffer;
  }

  /** A buffer holding `data` for the ops recorded until the next submit. */
  private temporary(data: Uint32Array | Float32Array): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    this.temporaries.push(buffer);
    return buffer;
  }

  /** Puts `params` (at most UNIFORM_BYTES) into the next uniform slot; returns the slot's byte offset. */
  private uniformSlot(params: Uint32Array): number {
    if ((this.uniformSlotsUsed + 1) * this.uniformSlotBytes > this.uniformBuffer.size) {
      // The recorded dispatches keep the full buffer: fill it now, release it after the submit, go on in a larger one.
      this.uploadUniformSlots();
      this.temporaries.push(this.uniformBuffer);
      this.createUniformSlots((2 * this.uniformBuffer.size) / this.uniformSlotBytes);
    }
    const offset = this.uniformSlotsUsed * this.uniformSlotBytes;
    this.uniformStaging.set(params, offset / 4);
    this.uniformSlotsUsed++;
    return offset;
  }

  /** Writes the filled slots to the uniform buffer; queue writes land before the commands submitted after them. */
  private uploadUniformSlots(): void {
    if (this.uniformSlotsUsed === 0) return;
    this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformStaging.buffer, 0, this.uniformSlotsUsed * this.uniformSlotBytes);
    this.uniformSlotsUsed = 0;
  }

  private createUniformSlots(slots: number): void {
    const size = slots * this.uniformSlotBytes;
    this.uniformBuffer = this.device.createBuffer({ label: 'kernel parameters', size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.uniformStaging = new Uint32Array(size / 4);
    this.uniformSlotsUsed = 0;
  }

  private buffer(b: BackendBuffer): GpuBuffer {
    return ownedBy(b, GpuBuffer, 'buffer', 'WebGPU');
  }

  private weight(w: BackendWeight): GpuWeight {
    return ownedBy(w, GpuWeight, 'weight', 'WebGPU');
  }

  private vectorWeight(w: BackendWeight): GpuWeight {
    const weight = this.weight(w);
    checkVector(weight);
    return weight;
  }

  private kvCache(cache: BackendKvCache, layer: number, startPos: number, nTokens: number): GpuKvCache {
    const owned = ownedBy(cache, GpuKvCache, 'KV cache', 'WebGPU');
    checkKvRange(owned, layer, startPos, nTokens);
    return owned;
  }
}

type Binding = 'read' | 'write' | 'uniform';

/** A compiled entry point, with the bind group layout of its source. */
interface Kernel {
  readonly file: keyof typeof SHADERS;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/**
 * Kernel sources (the weight-reading kernels start with the dequantizers) and their bindings, in binding order:
 * explicit layouts, because 'auto' would drop a binding that an entry point leaves unused.
 */
const SHADERS = {
  matmul: { code: dequantShader + matmulParamsShader + matmulShader, bindings: ['read', 'read', 'write', 'uniform'] },
  matmulTiled: { code: dequantShader + piecesShader + matmulParamsShader + matmulTiledShader, bindings: ['read', 'read', 'write', 'uniform'] },
  // `enable subgroups;` must open the module.
  matvecSubgroups: { code: matvecReduceSubgroupsShader + dequantShader + piecesShader + matmulParamsShader + matvecShader, bindings: ['read', 'read', 'write', 'uniform'] },
  matvecShared: { code: matvecReduceSharedShader + dequantShader + piecesShader + matmulParamsShader + matvecShader, bindings: ['read', 'read', 'write', 'uniform'] },
  embed: { code: dequantShader + embedShader, bindings: ['read', 'read', 'write', 'uniform'] },
  norm: { code: normShader, bindings: ['read', 'read', 'write', 'uniform'] },
  rope: { code: ropeShader, bindings: ['read', 'write', 'uniform'] },
  elementwise: { code: elementwiseShader, bindings: ['read', 'read', 'write', 'uniform'] },
  activations: { code: activationsShader, bindings: ['read', 'write', 'uniform'] },
  // Both entry points share the layout: row, extra indices, per-slice picks, result.
  topk: { code: topkShader, bindings: ['read', 'read', 'write', 'write', 'uniform'] },
  attention: { code: attentionParamsShader + attentionShader, bindings: ['read', 'read', 'read', 'write', 'uniform'] },
  attentionPrefill: { code: attentionParamsShader + attentionPrefillShader, bindings: ['read', 'read', 'read', 'write', 'uniform'] },
  attentionSplit: { code: attentionParamsShader + attentionSplitShader, bindings: ['read', 'read', 'read', 'write', 'write', 'uniform'] },
} satisfies Record<string, { code: string; bindings: Binding[] }>;

const BUFFER_BINDING_TYPES: Record<Binding, GPUBufferBindingType> = { read: 'read-only-storage', write: 'storage', uniform: 'uniform' };

/** Buffers come in whole 16-byte units: matvec.wgsl reads activations as vec4s, up to the last partial one. */
function bufferSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

