// Generates the models the browser tests need beyond the fixtures:
//  - stories260K as a Hugging Face checkpoint (model.safetensors + config.json),
//    converted from the GGUF fixture with the project's own readers and writers;
//  - a GGUF with 12,000 tiny tensors, to exercise the windowed tensor table.

import { openAsBlob } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { GgufValueType, metaNumber, readGguf, readTensorBytes, type GgufFile, type GgufTensorInfo } from '../src/formats/gguf';
import { writeGguf } from '../src/formats/gguf-writer';
import { writeSafetensors } from '../src/formats/safetensors';
import { MemorySink } from '../src/formats/sink';
import { ggmlTypeByName } from '../src/quant/types';
import { GENERATED, MANY_TENSORS, MANY_TENSORS_GGUF, STORIES_GGUF, STORIES_HF_DIR } from './paths';

export default async function globalSetup(): Promise<void> {
  await mkdir(STORIES_HF_DIR, { recursive: true });
  await writeStoriesAsSafetensors();
  await writeManyTensorsGguf();
  console.log(`generated test models in ${GENERATED}`);
}

/** GGUF tensor names → Hugging Face Llama names. */
const HF_NAMES: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

function hfName(name: string): string {
  const global = HF_NAMES[name];
  if (global) return global;
  const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
  const part = m && HF_NAMES[m[2]!];
  if (!part) throw new Error(`no Hugging Face name for GGUF tensor ${name}`);
  return `model.layers.${m[1]}.${part}.weight`;
}

/**
 * llama.cpp's converter reorders the rows of each attention head of Q and K
 * (Hugging Face keeps the two rotary halves apart, GGUF interleaves them).
 * This puts them back: HF row (head, half, i) = GGUF row (head, i, half).
 */
function unpermuteRotaryRows(data: Uint8Array, rows: number, rowBytes: number, heads: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const half = rows / heads / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (h * 2 * half + i * 2 + j) * rowBytes;
        const to = (h * 2 * half + j * half + i) * rowBytes;
        out.set(data.subarray(from, from + rowBytes), to);
      }
    }
  }
  return out;
}

function required(file: GgufFile, key: string): number {
  const value = metaNumber(file, key);
  if (value === undefined) throw new Error(`stories260K.gguf has no ${key}`);
  return value;
}

async function writeStoriesAsSafetensors(): Promise<void> {
  const blob = await openAsBlob(STORIES_GGUF);
  const gguf = await readGguf(blob);
  const heads = required(gguf, 'llama.attention.head_count');
  const kvHeads = required(gguf, 'llama.attention.head_count_kv');
  const tensorData = async (t: GgufTensorInfo) => {
    if (t.type.name !== 'F32') throw new Error(`expected F32 tensors, ${t.name} is ${t.type.name}`);
    const bytes = await readTensorBytes(blob, t);
    const rows = t.shape[1] ?? 1;
    if (t.name.endsWith('attn_q.weight')) return unpermuteRotaryRows(bytes, rows, t.shape[0]! * 4, heads);
    if (t.name.endsWith('attn_k.weight')) return unpermuteRotaryRows(bytes, rows, t.shape[0]! * 4, kvHeads);
    return bytes;
  };
  const sink = new MemorySink();
  await writeSafetensors(
    sink,
    gguf.tensors.map((t) => ({ name: hfName(t.name), dtype: 'F32', shape: [...t.shape].reverse(), data: () => tensorData(t) })),
    { format: 'pt' },
  );
  await writeFile(`${STORIES_HF_DIR}/model.safetensors`, sink.bytes());

  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: required(gguf, 'llama.embedding_length'),
    intermediate_size: required(gguf, 'llama.feed_forward_length'),
    num_hidden_layers: required(gguf, 'llama.block_count'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: gguf.tensors.find((t) => t.name === 'token_embd.weight')!.shape[1],
    max_position_embeddings: required(gguf, 'llama.context_length'),
    // An f32 in the GGUF: 7 significant digits give back the value as written (1e-5).
    rms_norm_eps: Number(required(gguf, 'llama.attention.layer_norm_rms_epsilon').toPrecision(7)),
    rope_theta: metaNumber(gguf, 'llama.rope.freq_base') ?? 10000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
  await writeFile(`${STORIES_HF_DIR}/config.json`, JSON.stringify(config, null, 2));
}

async function writeManyTensorsGguf(): Promise<void> {
  const f32 = ggmlTypeByName('F32')!;
  const perLayer = 10;
  const sink = new MemorySink();
  await writeGguf(sink, {
    version: 3,
    kv: [
      { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
      { key: 'general.name', type: GgufValueType.STRING, value: 'many-tensors' },
      { key: 'llama.block_count', type: GgufValueType.U32, value: MANY_TENSORS / perLayer },
    ],
    tensors: Array.from({ length: MANY_TENSORS }, (_, i) => ({
      name: `blk.${Math.floor(i / perLayer)}.part${i % perLayer}.weight`,
      shape: [8],
      type: f32,
      data: () => new Uint8Array(new Float32Array(8).fill(i).buffer),
    })),
  });
  await writeFile(MANY_TENSORS_GGUF, sink.bytes());
}
