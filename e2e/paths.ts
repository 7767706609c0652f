// Files the browser tests open: the team fixtures, and models that
// global-setup.ts generates from them (git-ignored).

import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

export const FIXTURES = `${repo}../shared/fixtures`;
export const GENERATED = `${repo}e2e/.generated`;

export const STORIES_GGUF = `${FIXTURES}/models/stories260K.gguf`;
export const RANDOM_F32_GGUF = `${FIXTURES}/models/random-llama-256x4-f32.gguf`;
export const RANDOM_Q4_K_M_GGUF = `${FIXTURES}/quant/random-llama-256x4/recipe/random-llama-256x4-Q4_K_M.gguf`;

/** stories260K converted to a Hugging Face folder: model.safetensors + config.json. */
export const STORIES_HF_DIR = `${GENERATED}/stories260K-hf`;
/** A synthetic GGUF with MANY_TENSORS tiny tensors, for the windowed tensor table. */
export const MANY_TENSORS_GGUF = `${GENERATED}/many-tensors.gguf`;
export const MANY_TENSORS = 12_000;

export const RANDOM_Q4_K_GGUF = `${FIXTURES}/quant/random-llama-256x4/pure/random-llama-256x4-Q4_K.gguf`;
/** llama.cpp's own dequantization of blk.0.ffn_down.weight of the Q4_K file, raw little-endian float32. */
export const RANDOM_Q4_K_FFN_DOWN_F32 = `${FIXTURES}/quant/random-llama-256x4/dequant/Q4_K/blk.0.ffn_down.weight.f32`;
