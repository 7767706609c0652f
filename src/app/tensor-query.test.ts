import { describe, expect, it } from 'vitest';
import type { TensorEntry } from '../formats/model';
import { filterTensors, sortTensors } from './tensor-query';

function tensor(name: string, type: string, shape: number[], offset: number): TensorEntry {
  const elements = shape.reduce((a, b) => a * b, 1);
  return { name, type, shape, elements, bytes: elements * 4, offset, file: 'm.gguf', layer: null };
}

const tensors = [
  tensor('blk.10.attn_q.weight', 'Q4_K', [64, 64], 300),
  tensor('blk.2.attn_q.weight', 'Q4_K', [64, 64], 200),
  tensor('token_embd.weight', 'Q6_K', [64, 512], 0),
  tensor('blk.2.attn_norm.weight', 'F32', [64], 100),
];
const names = (list: TensorEntry[]) => list.map((t) => t.name);

describe('filterTensors', () => {
  it('matches every term against name or type, ignoring case', () => {
    expect(names(filterTensors(tensors, 'ATTN_Q'))).toEqual(['blk.10.attn_q.weight', 'blk.2.attn_q.weight']);
    expect(names(filterTensors(tensors, 'blk.2 f32'))).toEqual(['blk.2.attn_norm.weight']);
    expect(filterTensors(tensors, '  ')).toBe(tensors);
    expect(filterTensors(tensors, 'nothing')).toEqual([]);
  });
});

describe('sortTensors', () => {
  it('sorts names numerically and both directions', () => {
    expect(names(sortTensors(tensors, { column: 'name', descending: false }))).toEqual([
      'blk.2.attn_norm.weight', 'blk.2.attn_q.weight', 'blk.10.attn_q.weight', 'token_embd.weight',
    ]);
    expect(names(sortTensors(tensors, { column: 'offset', descending: true }))[0]).toBe('blk.10.attn_q.weight');
  });

  it('sorts shapes by rank then dimensions, keeping file order on ties', () => {
    expect(names(sortTensors(tensors, { column: 'shape', descending: false }))).toEqual([
      'blk.2.attn_norm.weight', 'blk.10.attn_q.weight', 'blk.2.attn_q.weight', 'token_embd.weight',
    ]);
    expect(names(sortTensors(tensors, { column: 'bytes', descending: true }))).toEqual([
      'token_embd.weight', 'blk.10.attn_q.weight', 'blk.2.attn_q.weight', 'blk.2.attn_norm.weight',
    ]);
  });

  it('does not change its input', () => {
    const before = names(tensors);
    sortTensors(tensors, { column: 'name', descending: true });
    expect(names(tensors)).toEqual(before);
  });
});
