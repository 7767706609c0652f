// `npm run bench [-- --json]`: throughput figures with the machine's memory
// roofline beside them. Measure with this, not with timed tests.

import os from 'node:os';
import { measureReadBandwidth } from './memory-bandwidth';
import { benchQuantize } from './quantize-bench';

const json = process.argv.includes('--json');
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
const bandwidth = measureReadBandwidth();
const quantize = benchQuantize();

if (json) {
  console.log(JSON.stringify({ machine, memoryReadGBps: bandwidth / 1e9, quantize }, null, 1));
} else {
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}`);
  console.log(`memory read bandwidth (1 thread): ${(bandwidth / 1e9).toFixed(1)} GB/s`);
  console.log('\nquantization, 1 thread, MB of f32 input per second (roofline = read bandwidth):');
  for (const r of quantize) {
    console.log(`  ${r.type.padEnd(6)} ${r.mbPerSecond.toFixed(1).padStart(8)} MB/s  (${((r.mbPerSecond * 1e6 * 100) / bandwidth).toFixed(1)}% of roofline)`);
  }
}
