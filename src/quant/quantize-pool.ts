// Runs RowsJobs (src/quant/quantize-pool-job.ts) on `threads` threads: inline
// on the calling thread for one, else on a pool of workers (src/quant/quantize.worker.ts),
// each with its own instance of the WASM quantizer. Jobs are handed out in the
// order they are submitted, so earlier tensors finish first.

import { fromWorkerError, loadRowsConverter, rowsToEncode, type RowsJob, type RowsReply } from './quantize-pool-job';
import { GgmlType, ggmlType, type GgmlTypeTraits } from './types';

export interface RowsPool {
  /** The job's rows converted; rejects with the job's error, or with the reason the pool was closed. */
  run(job: RowsJob): Promise<Uint8Array>;
  /** Stops at once: running workers are terminated, and pending and later jobs reject with `reason`. Idempotent. */
  close(reason?: Error): void;
}

export class PoolClosedError extends Error {
  override readonly name = 'PoolClosedError';
  constructor() {
    super('the quantize pool is closed');
  }
}

/** A pool of `threads` threads; 1 runs jobs inline, without a worker. */
export async function startRowsPool(threads: number): Promise<RowsPool> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  if (threads === 1) return startInlinePool();
  return new WorkerPool(threads, isNode() ? await nodeWorkerStarter() : startWebWorker);
}

/**
 * An accelerator's quantizer (the WebGPU one in src/backend/webgpu/gpu-quantize.ts): asynchronous, and writing the
 * reference quantizers' bytes for every type it supports.
 */
export interface DeviceQuantizer {
  supports(type: GgmlTypeTraits): boolean;
  quantize(type: GgmlTypeTraits, src: Float32Array): Promise<Uint8Array>;
}

/**
 * Jobs whose target type the device supports are encoded there, one at a time (a device has one queue); the rest run
 * inline on this thread.
 */
export async function startDevicePool(device: DeviceQuantizer): Promise<RowsPool> {
  const inline = await startInlinePool();
  let closedWith: Error | undefined;
  let previous: Promise<unknown> = Promise.resolve();
  return {
    run(job) {
      if (!device.supports(ggmlType(job.to)) || job.to === GgmlType.F32) return inline.run(job);
      const result = previous.then(async () => {
        if (closedWith) throw closedWith;
        const { to, values } = rowsToEncode(job);
        const bytes = await device.quantize(to, values);
        if (closedWith) throw closedWith;
        return bytes;
      });
      previous = result.catch(() => undefined);
      return result;
    },
    close(reason = new PoolClosedError()) {
      closedWith ??= reason;
      inline.close(reason);
    },
  };
}

/** Runs jobs one at a time on this thread, each in a task of its own so that a cancel can arrive between any two. */
async function startInlinePool(): Promise<RowsPool> {
  const convert = await loadRowsConverter();
  let closedWith: Error | undefined;
  let previous: Promise<unknown> = Promise.resolve();
  return {
    run(job) {
      const result = previous.then(nextTask).then(() => {
        if (closedWith) throw closedWith;
        return convert(job);
      });
      previous = result.catch(() => undefined);
      return result;
    },
    close(reason = new PoolClosedError()) {
      closedWith ??= reason;
    },
  };
}

/** Resolves in a new event-loop task, after pending messages; a MessageChannel has none of setTimeout's 1 ms clamp. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}

interface Task {
  job: RowsJob;
  resolve: (bytes: Uint8Array) => void;
  reject: (error: Error) => void;
}

/** One worker thread, whichever platform provides it. */
interface RowsWorker {
  /** Sends the job, handing over its source buffer. */
  post(job: RowsJob): void;
  terminate(): void;
}

type WorkerStarter = (onReply: (reply: RowsReply) => void, onFailure: (error: Error) => void) => RowsWorker;

class WorkerPool implements RowsPool {
  private readonly queue: Task[] = [];
  private readonly idle: RowsWorker[] = [];
  private readonly running = new Map<RowsWorker, Task>();
  private started = 0;
  private closedWith: Error | undefined;

  /** Workers start when jobs wait for them, so a run that needs fewer (small or copy-only models) starts fewer. */
  constructor(private readonly threads: number, private readonly startWorker: WorkerStarter) {}

  run(job: RowsJob): Promise<Uint8Array> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  close(reason: Error = new PoolClosedError()): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    for (const worker of [...this.idle, ...this.running.keys()]) worker.terminate();
    for (const task of [...this.running.values(), ...this.queue]) task.reject(reason);
    this.idle.length = 0;
    this.running.clear();
    this.queue.length = 0;
  }

  private dispatch(): void {
    while (this.idle.length === 0 && this.started < Math.min(this.threads, this.running.size + this.queue.length)) {
      const worker = this.startWorker(
        (reply) => this.finished(worker, reply),
        (error) => this.close(error),
      );
      this.started++;
      this.idle.push(worker);
    }
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      this.running.set(worker, task);
      // A buffer of just the job's rows moves to the worker; rows within a larger buffer are copied, leaving it intact.
      const { source } = task.job;
      worker.post(source.byteLength === source.buffer.byteLength ? task.job : { ...task.job, source: source.slice() });
    }
  }

  private finished(worker: RowsWorker, reply: RowsReply): void {
    const task = this.running.get(worker);
    if (!task) return; // a reply that raced with close()
    this.running.delete(worker);
    this.idle.push(worker);
    if ('error' in reply) task.reject(fromWorkerError(reply.error));
    else task.resolve(reply.bytes);
    this.dispatch();
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node !== undefined;
}

const startWebWorker: WorkerStarter = (onReply, onFailure) => {
  // Written out literally so that Vite bundles the worker.
  const worker = new Worker(new URL('./quantize.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<RowsReply>) => onReply(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    onFailure(new Error(`quantize worker failed: ${event.message}`));
  };
  return {
    post: (job) => worker.postMessage(job, [job.source.buffer]),
    terminate: () => worker.terminate(),
  };
};

/** Node's worker_threads, imported only in Node so that browser bundles never see them. */
async function nodeWorkerStarter(): Promise<WorkerStarter> {
  // A variable keeps bundlers from trying to resolve Node's module for the browser.
  const workerThreads = 'node:worker_threads';
  const { Worker } = (await import(/* @vite-ignore */ workerThreads)) as typeof import('node:worker_threads');
  // The worker is TypeScript, so it starts by registering tsx's loader (the CLI, the bench and vitest all have tsx).
  // Node 20 does not apply loaders given as `execArgv: ['--import', 'tsx']` to a worker's entry module, hence this
  // small script that registers first and then imports the worker.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const file = './quantize.worker.ts';
  const workerModule = new URL(file, import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(workerModule)}); });`;
  return (onReply, onFailure) => {
    const worker = new Worker(bootstrap, { eval: true });
    let terminated = false;
    worker.on('message', onReply);
    worker.on('error', (error: Error) => onFailure(new Error(`quantize worker failed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (!terminated) onFailure(new Error(`quantize worker exited with code ${code}`));
    });
    return {
      post: (job) => worker.postMessage(job, [job.source.buffer as ArrayBuffer]),
      terminate: () => {
        terminated = true;
        void worker.terminate();
      },
    };
  };
}
