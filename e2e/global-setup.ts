// Generates the models the browser tests need beyond the fixtures:
//  - stories260K as a Hugging Face checkpoint (model.safetensors, config.json, tokenizer.json,
//    tokenizer_config.json), the inverse of llama.cpp's converter applied to the GGUF fixture;
//  - a GGUF with 12,000 tiny tensors, to exercise the windowed tensor table.

import { openAsBlob } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { GgufValueType, readGguf } from '../src/formats/gguf';
import { hfFolderFromLlamaGguf } from '../src/formats/convert-hf-inverse';
import { writeGguf } from '../src/formats/gguf-writer';
import { MemorySink } from '../src/formats/sink';
import { ggmlTypeByName } from '../src/quant/types';
import { GENERATED, MANY_TENSORS, MANY_TENSORS_GGUF, STORIES_GGUF, STORIES_HF_DIR } from './paths';

export default async function globalSetup(): Promise<void> {
  await mkdir(STORIES_HF_DIR, { recursive: true });
  await writeStoriesAsSafetensors();
  await writeManyTensorsGguf();
  console.log(`generated test models in ${GENERATED}`);
}

/** stories260K as a Hugging Face folder, rebuilt by the same inverse mapping the converter's unit tests use. */
async function writeStoriesAsSafetensors(): Promise<void> {
  const blob = await openAsBlob(STORIES_GGUF);
  const files = await hfFolderFromLlamaGguf(blob, await readGguf(blob));
  for (const [name, file] of files) await writeFile(`${STORIES_HF_DIR}/${name}`, new Uint8Array(await file.arrayBuffer()));
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
