import { describe, expect, it } from 'vitest';
import { formatFixedHalfEven, generalMetadataKv, sizeLabel } from './convert-hf-metadata';
import { GgufValueType } from './gguf';

// Each row: folder name, config.json, generation_config.json (null: none), total parameters, and the
// general.* keys (without "general.") that gguf-py 0.19's Metadata writes for that folder.
const REFERENCE: [string, Record<string, unknown>, Record<string, unknown> | null, number, [string, unknown][]][] = [
  ['Llama-3.1-8B-Instruct', {}, { temperature: 0.6, top_p: 0.9, do_sample: true }, 8030261248, [['sampling.top_p', 0.9], ['sampling.temp', 0.6], ['name', 'Llama 3.1 8B Instruct'], ['finetune', 'Instruct'], ['basename', 'Llama-3.1'], ['size_label', '8B']]],
  ['Qwen2.5-0.5B-Instruct', { _name_or_path: 'Qwen/Qwen2.5-0.5B-Instruct' }, { top_k: 20, top_p: 0.8, temperature: 0.7, repetition_penalty: 1.05 }, 494032768, [['sampling.top_k', 20], ['sampling.top_p', 0.8], ['sampling.temp', 0.7], ['name', 'Qwen2.5 0.5B Instruct'], ['organization', 'Qwen'], ['finetune', 'Instruct'], ['basename', 'Qwen2.5'], ['size_label', '0.5B']]],
  ['Mistral-7B-Instruct-v0.3', {}, null, 7248023552, [['name', 'Mistral 7B Instruct v0.3'], ['version', 'v0.3'], ['finetune', 'Instruct'], ['basename', 'Mistral'], ['size_label', '7B']]],
  ['bloom-7b1', {}, null, 7069016064, [['name', 'Bloom 7b1'], ['basename', 'bloom'], ['size_label', '7.1B']]],
  ['SmolLM-135M', { _name_or_path: '/home/user/models/SmolLM-135M' }, null, 134515008, [['name', 'SmolLM 135M'], ['basename', 'SmolLM'], ['size_label', '135M']]],
  ['TinyLlama-1.1B-Chat-v1.0', {}, null, 1100048384, [['name', 'TinyLlama 1.1B Chat v1.0'], ['version', 'v1.0'], ['finetune', 'Chat'], ['basename', 'TinyLlama'], ['size_label', '1.1B']]],
  ['Qwen3-4B-128k', {}, null, 4022468096, [['name', 'Qwen3 4B 128k'], ['finetune', '128k'], ['basename', 'Qwen3'], ['size_label', '4B']]],
  ['my model v2', {}, null, 1000, [['name', 'My Model v2'], ['size_label', '1.0K']]],
  ['stories260K', {}, null, 292672, [['name', 'stories260K'], ['size_label', '293K']]],
  ['test', {}, null, 292672, [['name', 'Test'], ['size_label', '293K']]],
  ['Mixtral-8x7B-v0.1', {}, null, 46702792704, [['name', 'Mixtral 8x7B v0.1'], ['version', 'v0.1'], ['basename', 'Mixtral'], ['size_label', '8x7B']]],
  ['gemma-2-2b-it-GGUF', {}, null, 2614341888, [['name', 'Gemma 2 2b It GGUF'], ['finetune', 'it-GGUF'], ['basename', 'gemma-2'], ['size_label', '2B']]],
  ['phi-3-mini-4k-instruct', {}, null, 3821079552, [['name', 'Phi 3 Mini 4k Instruct'], ['finetune', '4k-instruct'], ['basename', 'phi-3'], ['size_label', 'mini']]],
  ['convert-hf-aB3xYz', {}, null, 5000, [['name', 'Convert Hf aB3xYz'], ['size_label', '5.0K']]],
  ['llama3b-fp16-q4_k_m', {}, null, 3000000000, [['name', 'Llama3B Fp16 Q4_K_M'], ['size_label', '3.0B']]],
  ['Meta-Llama-3-70B', { _name_or_path: 'meta-llama/Meta-Llama-3-70B' }, { sequence: 'top_k;temp', min_p: 0.05, mirostat: 2 }, 70553706496, [['sampling.sequence', 'top_k;temp'], ['sampling.min_p', 0.05], ['sampling.mirostat', 2], ['name', 'Meta Llama 3 70B'], ['organization', 'Meta Llama'], ['basename', 'Meta-Llama-3'], ['size_label', '70B']]],
  ['x', { _name_or_path: 'org/' }, null, 12500, [['organization', 'Org'], ['size_label', '12K']]],
  ['deep-model-1.5b-v2.1-chat-small', {}, null, 1500000000, [['name', 'Deep Model 1.5b v2.1 Chat Small'], ['version', 'v2.1'], ['finetune', 'chat-small'], ['basename', 'deep-model'], ['size_label', '1.5B']]],
];

describe('general.* metadata as gguf-py’s Metadata writes it', () => {
  it.each(REFERENCE)('%s', (folderName, config, generationConfig, totalParams, expected) => {
    const kv = generalMetadataKv({ folderName, config, generationConfig: generationConfig ?? undefined, totalParams });
    expect(kv.map((e) => [e.key.replace(/^general\./, ''), e.value])).toEqual(expected);
  });

  it('writes sampling integers as I32 and the rest as F32; refuses values of the wrong kind', () => {
    const kv = generalMetadataKv({ folderName: 'm', config: {}, generationConfig: { top_k: 40, temperature: 1, mirostat_eta: 0.1 }, totalParams: 10 });
    expect(kv.slice(0, 3).map((e) => [e.key, e.type])).toEqual([
      ['general.sampling.top_k', GgufValueType.I32], ['general.sampling.temp', GgufValueType.F32], ['general.sampling.mirostat_eta', GgufValueType.F32],
    ]);
    expect(() => generalMetadataKv({ folderName: 'm', config: {}, generationConfig: { top_k: 0.5 }, totalParams: 10 })).toThrow(/generation_config\.json top_k: must be an integer/);
  });
});

describe('the size label', () => {
  // gguf-py 0.19's size_label for these parameter counts.
  it.each<[number, string]>([[1, '0.00K'], [999, '1.0K'], [1000, '1.0K'], [1250, '1.2K'], [12500, '12K'], [125000, '125K'], [999499, '999K'], [999500, '1000K'], [1000001, '1.0M'], [1250000, '1.2M'], [12500000, '12M'], [125000000, '125M'], [2500000, '2.5M'], [3500000, '3.5M'], [99950000, '100M'], [1000000001, '1.0B'], [2500000000, '2.5B'], [1000000000001, '1.0T'], [15000000000000, '15T'], [292672, '293K'], [8030261248, '8.0B']])('%d parameters: %s', (params, label) => {
    expect(sizeLabel(params)).toBe(label);
  });

  it('rounds half to even on the exact binary value, as Python’s format does', () => {
    expect(formatFixedHalfEven(0.125, 2)).toBe('0.12');
    expect(formatFixedHalfEven(0.375, 2)).toBe('0.38');
    expect(formatFixedHalfEven(2.5, 0)).toBe('2');
    expect(formatFixedHalfEven(3.5, 0)).toBe('4');
    expect(formatFixedHalfEven(0.1, 1)).toBe('0.1');
    expect(formatFixedHalfEven(-1.25, 1)).toBe('-1.2');
    expect(formatFixedHalfEven(292.672, 0)).toBe('293');
  });
});
