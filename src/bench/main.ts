// `npm run bench [-- --json] [-- --quick]`: throughput figures with the machine's memory
// roofline beside them: quantization in Node, then the runtime in headless Chromium
// (WASM beside wllama and native llama.cpp, then our WebGPU backend in the same page),
// then the WebGPU kernels in Node on SwiftShader
// (on a machine with a GPU, src/bench/webgpu-main.ts measures model-sized shapes).
// Measure with this, not with timed tests.

import '../cli/raw-imports';
import os from 'node:os';
import { nodeGpu } from '../backend/webgpu/node-gpu';
import { measureReadBandwidth } from './memory-bandwidth';
import { benchQuantize, LLAMA_QUANTIZE_MB_PER_SECOND } from './quantize-bench';
import { benchRuntime } from './runtime-bench';
import { formatRuntimeReport } from './runtime-report';

// After raw-imports: the kernels import WGSL with `?raw`.
const { benchWebGpu, formatWebGpuReport, softwareBench } = await import('./webgpu-bench');

const json = process.argv.includes('--json');
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
const bandwidth = measureReadBandwidth();
const threadCounts = [1, 2];
const quantize = await benchQuantize(threadCounts);
const runtime = await benchRuntime({ threadCounts, quick: process.argv.includes('--quick'), log: (line) => console.error(line) });
const webgpuKernels = await benchWebGpu(await nodeGpu('software'), softwareBench((line) => console.error(line)));

if (json) {
  const report = { machine: { ...machine, loadAverage: os.loadavg() }, memoryReadGBps: bandwidth / 1e9, quantize, llamaQuantizeMbPerSecond: LLAMA_QUANTIZE_MB_PER_SECOND, runtime, webgpuKernels };
  console.log(JSON.stringify(report, null, 1));
} else {
  const roofline = (mbPerSecond: number) => `${((mbPerSecond * 1e6 * 100) / bandwidth).toFixed(1)}%`;
  const cell = (text: string, width: number) => text.padStart(width);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}`);
  console.log(`memory read bandwidth (1 thread): ${(bandwidth / 1e9).toFixed(1)} GB/s = the roofline`);
  console.log('\nquantization, MB of f32 input per second; ours: the quantizeModel path (WASM SIMD where marked, else the TS');
  console.log('reference), % of the 1-thread roofline; peer: llama-quantize on the development machine; ref: TS reference,');
  console.log('1 thread; kernel: the WASM quantizer alone on one buffer, 1 thread');
  const header = ['type', 'ref 1T', 'kernel 1T', ...threadCounts.flatMap((t) => [`ours ${t}T`, '%roof', `peer ${t}T`])];
  console.log(['type'.padEnd(6), ...header.slice(1).map((h) => cell(h, 10))].join(' '));
  for (const r of quantize) {
    const cells = threadCounts.flatMap((threads) => {
      const ours = r.poolMbPerSecond[threads]!;
      const peer = LLAMA_QUANTIZE_MB_PER_SECOND[threads]?.[r.type];
      const peerText = peer ? `${peer.mbPerSecond}${peer.type === r.type ? '' : ` (${peer.type})`}` : '-';
      return [cell(ours.toFixed(1), 10), cell(roofline(ours), 10), cell(peerText, 10)];
    });
    const name = `${r.type}${r.wasm ? '' : '*'}`;
    const kernel = r.kernelMbPerSecond === undefined ? '-' : r.kernelMbPerSecond.toFixed(1);
    console.log([name.padEnd(6), cell(r.referenceMbPerSecond.toFixed(1), 10), cell(kernel, 10), ...cells].join(' '));
  }
  if (quantize.some((r) => !r.wasm)) console.log('* no WASM quantizer yet: the TS reference runs in the pool');
  console.log('\nruntime in headless Chromium; peers: wllama in the same page, native llama.cpp (node-llama-cpp); then our WebGPU backend');
  console.log(formatRuntimeReport(runtime));
  console.log('\nWebGPU kernels in Node (Dawn); a GPU run: npx tsx src/bench/webgpu-main.ts');
  console.log(formatWebGpuReport(webgpuKernels));
}
// Dawn keeps the process alive otherwise.
process.exit(0);
