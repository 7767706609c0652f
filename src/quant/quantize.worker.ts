// A quantize pool worker (src/quant/quantize-pool.ts): converts one RowsJob per
// message with its own instance of the WASM quantizer and answers a RowsReply,
// handing the result's buffer over instead of copying it. Runs as a module Web
// Worker in the browser and as a worker_threads worker in Node.

import { loadRowsConverter, toWorkerError, type RowsJob, type RowsReply } from './quantize-pool-job';

interface Port {
  onJob(handle: (job: RowsJob) => void): void;
  reply(message: RowsReply, transfer: ArrayBuffer[]): void;
}

async function convert(job: RowsJob): Promise<{ message: RowsReply; transfer: ArrayBuffer[] }> {
  try {
    const bytes = (await loadRowsConverter())(job);
    return { message: { bytes }, transfer: [bytes.buffer as ArrayBuffer] };
  } catch (error) {
    return { message: { error: toWorkerError(error) }, transfer: [] };
  }
}

async function parentPort(): Promise<Port> {
  if (typeof process !== 'undefined' && process.versions?.node !== undefined) {
    // A variable keeps bundlers from trying to resolve the Node module for the browser.
    const workerThreads = 'node:worker_threads';
    const { parentPort: port } = (await import(/* @vite-ignore */ workerThreads)) as typeof import('node:worker_threads');
    if (!port) throw new Error('quantize.worker.ts must run as a worker');
    return {
      onJob: (handle) => port.on('message', handle),
      reply: (message, transfer) => port.postMessage(message, transfer),
    };
  }
  const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
  return {
    onJob: (handle) => { scope.onmessage = (event: MessageEvent<RowsJob>) => handle(event.data); },
    reply: (message, transfer) => scope.postMessage(message, transfer),
  };
}

void parentPort().then((port) =>
  port.onJob(async (job) => {
    const { message, transfer } = await convert(job);
    port.reply(message, transfer);
  }),
);
