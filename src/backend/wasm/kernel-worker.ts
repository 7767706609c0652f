// Entry point of a WASM kernel worker thread (see thread-pool.ts), in Node's
// worker_threads or a browser Web Worker.

import { isNode, serveWorker, type WorkerInit, type WorkerReport } from './thread-pool';

if (isNode()) {
  const workerThreads = 'node:worker_threads';
  const { parentPort } = (await import(/* @vite-ignore */ workerThreads)) as typeof import('node:worker_threads');
  const port = parentPort!;
  port.once('message', (init: WorkerInit) => void serveWorker(init, (report: WorkerReport) => port.postMessage(report)));
} else {
  const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
  scope.onmessage = (event: MessageEvent<WorkerInit>) => void serveWorker(event.data, (report: WorkerReport) => scope.postMessage(report));
}
