import { describe, expect, it } from 'vitest';
import { parsePerfTimings, resolveNodeLlamaCpp } from './native-bench';

describe('parsePerfTimings', () => {
  // As llama.cpp v0.5.0 logs them through node-llama-cpp, one message per line.
  const lines = [
    'llama_perf_context_print:        load time =     292.93 ms\n',
    'llama_perf_context_print: prompt eval time =     289.42 ms /   511 tokens (    0.57 ms per token,  1765.62 tokens per second)\n',
    'llama_perf_context_print:        eval time =     374.48 ms /   129 runs   (    2.90 ms per token,   344.48 tokens per second)\n',
    'llama_perf_context_print:       total time =     729.39 ms /   640 tokens\n',
  ];

  it('reads the prompt-eval and eval counters', () => {
    expect(parsePerfTimings(lines)).toEqual({ promptTokens: 511, promptMs: 289.42, evalRuns: 129, evalMs: 374.48 });
  });

  it('says which counter is missing', () => {
    expect(() => parsePerfTimings(lines.filter((l) => !l.includes('runs')))).toThrow(/no eval timing/);
    expect(() => parsePerfTimings([])).toThrow(/no prompt eval timing \(looked in 0 lines\)/);
  });
});

describe('resolveNodeLlamaCpp', () => {
  it('says why the native column is skipped when no candidate imports', async () => {
    const runtime = await resolveNodeLlamaCpp(['/nonexistent/node-llama-cpp/index.js']);
    expect(runtime.available).toBe(false);
    if (!runtime.available) expect(runtime.reason).toMatch(/^node-llama-cpp not found \(\/nonexistent\/node-llama-cpp\/index\.js: /);
  });
});
