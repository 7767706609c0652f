// `inspect FILE... [--json]`: the summary, metadata and tensor table of each model.

import { openModels, type ModelHandle, type ModelView } from '../formats/model';
import { GgufValueType, type GgufArray } from '../formats/gguf';
import { openFiles } from './node-files';
import type { ParsedArgs } from './args';
import { table } from './table';
import { humanBytes, humanCount } from '../app/format';

export async function inspectCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  if (args.positional.length === 0) throw new Error('usage: inspect FILE... [--json]');
  const { handles, errors } = await openModels(await openFiles(args.positional));
  for (const e of errors) err(`${e.file}: ${e.message}`);
  if (args.switches.has('json')) {
    const models = handles.map(modelJson);
    if (models.length > 0) out(JSON.stringify(models.length === 1 ? models[0] : { models }, null, 1));
  } else {
    for (const h of handles) out(modelText(h.view));
  }
  return errors.length > 0 ? 1 : 0;
}

/** The stable JSON shape of `inspect --json` (one model). */
export function modelJson(h: ModelHandle) {
  const v = h.view;
  return {
    format: v.format,
    version: v.version,
    name: v.name,
    architecture: v.summary.architecture,
    parameterCount: v.summary.parameterCount,
    summary: v.summary,
    metadata: Object.fromEntries(h.gguf ? h.gguf.kv.map((kv) => [kv.key, jsonValue(kv.type, kv.value)]) : v.metadata.map((m) => [m.key, m.value ?? m.preview ?? null])),
    tensors: v.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, offset: t.offset, bytes: t.bytes, file: t.file })),
  };
}

function jsonValue(type: GgufValueType, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (type !== GgufValueType.ARRAY) return value;
  const arr = value as GgufArray;
  return Array.from(arr.items as ArrayLike<unknown>, (item) => jsonValue(arr.itemType, item));
}

function modelText(v: ModelView): string {
  const s = v.summary;
  const lines = [
    `${v.name}  (${v.format}${v.version !== null ? ` v${v.version}` : ''}, ${humanBytes(s.fileSize)})`,
    `  architecture    ${s.architecture ?? '?'}${s.name && s.name !== v.name ? `  "${s.name}"` : ''}`,
    `  parameters      ${humanCount(s.parameterCount)} (${s.parameterCount})`,
    `  layers          ${s.layers ?? '?'}   heads ${s.heads ?? '?'} / kv ${s.kvHeads ?? '?'}   embedding ${s.embeddingSize ?? '?'}`,
    `  context         ${s.contextLength ?? '?'}   vocab ${s.vocabSize ?? '?'}`,
    `  rope            dims ${s.rope.dimensions ?? '?'}  base ${s.rope.freqBase ?? 'default'}  scaling ${s.rope.scaling ?? 'none'}`,
    `  bits/weight     ${s.bitsPerWeight.toFixed(3)}   chat template ${s.hasChatTemplate ? 'yes' : 'no'}`,
  ];
  if (s.quantizedLayout) lines.push(`  quantized as    ${s.quantizedLayout.scheme} ${s.quantizedLayout.bits ?? '?'}-bit, group ${s.quantizedLayout.groupSize ?? '?'}`);
  lines.push('', '  quantization mix');
  lines.push(table(['type', 'tensors', 'bytes'], s.quantMix.map((m) => [m.type, String(m.tensors), humanBytes(m.bytes)]), '    '));
  lines.push('', `  metadata (${v.metadata.length} keys)`);
  for (const m of v.metadata) {
    const value = m.arrayLength !== undefined ? `[${m.arrayLength} items] ${JSON.stringify(m.preview?.slice(0, 8))}${m.arrayLength > 8 ? '…' : ''}` : JSON.stringify(m.value);
    lines.push(`    ${m.key} (${m.type}) = ${value.length > 160 ? `${value.slice(0, 160)}…` : value}`);
  }
  lines.push('', `  tensors (${v.tensors.length})`);
  lines.push(table(['name', 'type', 'shape', 'elements', 'bytes', 'offset'], v.tensors.map((t) => [t.name, t.type, t.shape.join('×'), String(t.elements), String(t.bytes), String(t.offset)]), '    '));
  return lines.join('\n');
}
