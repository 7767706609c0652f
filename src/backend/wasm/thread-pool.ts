// A pool of worker threads that run shares of the parallel ops (parallel-ops.ts)
// on one shared WebAssembly memory. The forward pass is synchronous, so the
// calling thread publishes an op, runs share 0 itself and blocks with
// Atomics.wait until the workers have done theirs. Idle workers sleep in
// Atomics.wait too, so a pool costs no CPU between ops.
//
// Control block (a SharedArrayBuffer beside the WASM memory):
//   Int32 [GENERATION]  bumped once per op; workers wake on its change
//   Int32 [PENDING]     workers still running the current op
//   Int32 [FAILED]      set by a worker whose share threw
//   Float64 args        the op (MAX_OP_ARGS numbers) from byte ARGS_OFFSET

import { BackendError } from '../backend';
import { instantiateKernels, type KernelExports } from './load-kernels';
import { MAX_OP_ARGS, runShare } from './parallel-ops';

const GENERATION = 0;
const PENDING = 1;
const FAILED = 2;
const ARGS_OFFSET = 16;
const CONTROL_BYTES = ARGS_OFFSET + MAX_OP_ARGS * 8;
/**
 * How long a thread polls a control word before sleeping in Atomics.wait. A forward pass issues
 * ops back to back, some tens of microseconds apart, and waking a sleeping thread takes about as
 * long as a small op (on a 2-core VM, polling only some tens of microseconds made 2 threads
 * slower than 1 at decoding): threads stay awake through a forward pass and sleep between them.
 */
const SPIN_MILLISECONDS = 1;
/** Polls between looks at the clock. */
const POLLS_PER_CLOCK_READ = 256;

/** What a worker receives once, at start. */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
  /** This worker's share index (1…count−1; the calling thread is 0). */
  readonly index: number;
  readonly count: number;
}

/** A started worker: `ready` settles on its first message ('ready', or the error that stopped it). */
interface WorkerHandle {
  readonly ready: Promise<void>;
  terminate(): void;
}

/** What a worker posts back once: null when ready, else why it could not start. */
export type WorkerReport = string | null;

export class ThreadPool {
  private readonly control: Int32Array;
  private readonly args: Float64Array;

  private constructor(
    private readonly kernels: KernelExports,
    private readonly workers: WorkerHandle[],
    control: SharedArrayBuffer,
  ) {
    this.control = new Int32Array(control, 0, ARGS_OFFSET / 4);
    this.args = new Float64Array(control, ARGS_OFFSET, MAX_OP_ARGS);
  }

  /** Starts threads − 1 workers on `memory`; `kernels` is the calling thread's own instance. */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, kernels: KernelExports, threads: number): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const spawn = await workerSpawner();
    const workers: WorkerHandle[] = [];
    try {
      for (let index = 1; index < threads; index++) workers.push(spawn({ module, memory, control, index, count: threads }));
      await Promise.all(workers.map((w) => w.ready));
    } catch (error) {
      for (const w of workers) w.terminate();
      throw new BackendError(`cannot start WASM worker threads: ${String(error)}`);
    }
    return new ThreadPool(kernels, workers, control);
  }

  /** Threads sharing each op, the calling one included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** Runs the op in `args` on every thread and returns when all shares are done. */
  run(args: readonly number[]): void {
    this.args.fill(0).set(args);
    Atomics.store(this.control, PENDING, this.workers.length);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    let failure: unknown;
    try {
      runShare(this.kernels, this.args, 0, this.threads);
    } catch (error) {
      failure = error;
    }
    // Wait for the workers even after a failure: they still use the buffers.
    let pending = Atomics.load(this.control, PENDING);
    while (pending !== 0) pending = waitWhile(this.control, PENDING, pending);
    if (failure !== undefined) throw failure;
    if (Atomics.exchange(this.control, FAILED, 0) !== 0) throw new BackendError('a WASM worker thread failed while running an op');
  }

  dispose(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

/** The loop of a worker thread: instantiate the kernels, report ready, then run its share of every op. */
export async function serveWorker(init: WorkerInit, report: (message: WorkerReport) => void): Promise<void> {
  let kernels: KernelExports;
  try {
    kernels = await instantiateKernels(init.module, init.memory);
  } catch (error) {
    report(String(error));
    return;
  }
  const control = new Int32Array(init.control, 0, ARGS_OFFSET / 4);
  const args = new Float64Array(init.control, ARGS_OFFSET, MAX_OP_ARGS);
  let seen = Atomics.load(control, GENERATION);
  report(null);
  for (;;) {
    seen = waitWhile(control, GENERATION, seen);
    try {
      runShare(kernels, args, init.index, init.count);
    } catch {
      Atomics.store(control, FAILED, 1);
    }
    if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
  }
}

/** Returns control[index] once it differs from `value`: polls for SPIN_MILLISECONDS, then sleeps in Atomics.wait. */
function waitWhile(control: Int32Array, index: number, value: number): number {
  const spinUntil = performance.now() + SPIN_MILLISECONDS;
  do {
    for (let i = 0; i < POLLS_PER_CLOCK_READ; i++) {
      const current = Atomics.load(control, index);
      if (current !== value) return current;
    }
  } while (performance.now() < spinUntil);
  for (;;) {
    Atomics.wait(control, index, value);
    const current = Atomics.load(control, index);
    if (current !== value) return current;
  }
}

/** True in Node.js (worker_threads), false in a browser. */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** A function that starts a worker with its init message (Web Worker or worker_threads). */
async function workerSpawner(): Promise<(init: WorkerInit) => WorkerHandle> {
  if (isNode()) return nodeWorkerSpawner();
  return (init) => {
    // Literal `new Worker(new URL(…))` so that Vite bundles the worker.
    const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' });
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReport>) => (event.data === null ? resolve() : reject(new Error(event.data)));
      worker.onerror = (event) => reject(new Error(event.message));
    });
    worker.postMessage(init);
    return { ready, terminate: () => worker.terminate() };
  };
}

async function nodeWorkerSpawner(): Promise<(init: WorkerInit) => WorkerHandle> {
  const workerThreads = 'node:worker_threads';
  const { Worker: NodeWorker } = (await import(/* @vite-ignore */ workerThreads)) as typeof import('node:worker_threads');
  // The worker is TypeScript, as is everything run under tsx or vitest. Node 20 ignores a
  // `--import tsx` given to a worker, so a small bootstrap registers tsx's loader first.
  const workerFile = './kernel-worker.ts'; // not a literal: Vite must not bundle it for the browser
  const workerUrl = new URL(workerFile, import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}); })`;
  return (init) => {
    const worker = new NodeWorker(bootstrap, { eval: true });
    // A worker sleeping in Atomics.wait must not keep the process alive.
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (report: WorkerReport) => (report === null ? resolve() : reject(new Error(report))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code}`)));
    });
    worker.postMessage(init);
    return { ready, terminate: () => void worker.terminate() };
  };
}
