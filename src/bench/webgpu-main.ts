// WebGPU benchmark on this machine's own GPU (Dawn in Node, Vulkan's choice of driver):
//   npx tsx src/bench/webgpu-main.ts [--json] [--quick] [--software] [--matvec per-row|cooperative]
//     [--prefill per-row|tiled] [--attention per-dim|split-k] [--no-subgroups]
// Model-sized shapes (hardwareBench); `npm run bench` runs the small SwiftShader set (softwareBench), and so does
// --software here.

import '../cli/raw-imports';
import { nodeGpu } from '../backend/webgpu/node-gpu';
import type { WebGpuBenchOptions } from './webgpu-bench';

// After raw-imports: the kernels import WGSL with `?raw`.
const { benchWebGpu, formatWebGpuReport, hardwareBench, softwareBench } = await import('./webgpu-bench');

const software = process.argv.includes('--software');
const log = (line: string) => console.error(line);
const gpu = await nodeGpu(software ? 'software' : 'system');
const options = software ? softwareBench(log) : hardwareBench(process.argv.includes('--quick'), log);
const report = await benchWebGpu(gpu, { ...options, kernels: kernelChoices() });
console.log(process.argv.includes('--json') ? JSON.stringify(report, null, 1) : formatWebGpuReport(report));
// Dawn keeps the process alive otherwise.
process.exit(0);

/** The kernels named on the command line; the backend picks the others. */
function kernelChoices(): NonNullable<WebGpuBenchOptions['kernels']> {
  const value = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const matvec = value('--matvec');
  const prefill = value('--prefill');
  const attention = value('--attention');
  if (matvec !== undefined && matvec !== 'per-row' && matvec !== 'cooperative') throw new Error(`--matvec: per-row or cooperative, got ${matvec}`);
  if (prefill !== undefined && prefill !== 'per-row' && prefill !== 'tiled') throw new Error(`--prefill: per-row or tiled, got ${prefill}`);
  if (attention !== undefined && attention !== 'per-dim' && attention !== 'split-k') throw new Error(`--attention: per-dim or split-k, got ${attention}`);
  return { matvec, prefill, attention, ...(process.argv.includes('--no-subgroups') ? { subgroups: false } : {}) };
}
