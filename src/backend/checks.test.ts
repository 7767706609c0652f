import { describe, expect, it } from 'vitest';
import { ggmlTypeByName } from '../quant/types';
import { BackendError } from './backend';
import { checkCount, checkKvRange, checkVector, checkView, needLength, ownedBy, weightGeometry } from './checks';

const type = (name: string) => ggmlTypeByName(name)!;

describe('backend argument checks', () => {
  it('weightGeometry gives rows, columns and row bytes, and names what does not fit', () => {
    expect(weightGeometry({ name: 'w', type: type('Q4_0'), shape: [64, 3] }, new Uint8Array(3 * 36))).toEqual({ cols: 64, rows: 3, rowBytes: 36 });
    expect(weightGeometry({ name: 'norm', type: type('F32'), shape: [5] }, new Uint8Array(20))).toEqual({ cols: 5, rows: 1, rowBytes: 20 });
    expect(() => weightGeometry({ name: 'w', type: type('Q4_0'), shape: [48, 3] }, new Uint8Array(0))).toThrow(/w: row length 48 is not a multiple of Q4_0's block size 32/);
    expect(() => weightGeometry({ name: 'w', type: type('F32'), shape: [4, 2, 2] }, new Uint8Array(64))).toThrow(/expected a vector or matrix, got shape \[4, 2, 2\]/);
    expect(() => weightGeometry({ name: 'w', type: type('F32'), shape: [4, 2] }, new Uint8Array(31))).toThrow(/w: expected 32 bytes, got 31/);
  });

  it('counts, lengths, views and cache ranges are checked with BackendErrors', () => {
    expect(() => checkCount('token count', 0)).toThrow(BackendError);
    expect(() => checkCount('token count', 1.5)).toThrow(/token count must be a positive integer, got 1.5/);
    expect(() => needLength({ length: 3 }, 4, 'keys')).toThrow(/keys: needs 4 values, buffer holds 3/);
    checkView(10, 2, 8);
    expect(() => checkView(10, 3, 8)).toThrow(/view \[3, 11\) is outside a buffer of 10/);
    const cache = { nLayers: 2, nCtx: 16, kvDim: 8 };
    checkKvRange(cache, 1, 10, 6);
    expect(() => checkKvRange(cache, 2, 0, 1)).toThrow(/layer 2 is outside the cache's 2 layers/);
    expect(() => checkKvRange(cache, 0, 10, 7)).toThrow(/positions 10..16 exceed the context of 16/);
  });

  it('a vector must be one F32 row, and objects must come from the backend that uses them', () => {
    const info = { name: 'b', type: type('F16'), shape: [8] };
    expect(() => checkVector({ info, cols: 8, rows: 1 })).toThrow(/b: expected an F32 vector, got F16 \[8\]/);
    class Own {}
    expect(ownedBy(new Own(), Own, 'buffer', 'WASM')).toBeInstanceOf(Own);
    expect(() => ownedBy({}, Own, 'buffer', 'WASM')).toThrow(/buffer does not belong to the WASM backend/);
  });
});
