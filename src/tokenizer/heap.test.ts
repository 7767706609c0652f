import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from './heap';

describe('Heap', () => {
  it('pops items in the order of its comparison, like a sort', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), (values) => {
        const heap = new Heap<number>((a, b) => a < b);
        for (const v of values) heap.push(v);
        expect(heap.size).toBe(values.length);
        const popped: number[] = [];
        for (let v = heap.pop(); v !== undefined; v = heap.pop()) popped.push(v);
        expect(popped).toEqual([...values].sort((a, b) => a - b));
      }),
    );
  });

  it('interleaves pushes and pops', () => {
    const heap = new Heap<number>((a, b) => a > b);
    heap.push(1);
    heap.push(5);
    expect(heap.pop()).toBe(5);
    heap.push(3);
    heap.push(0);
    expect([heap.pop(), heap.pop(), heap.pop(), heap.pop()]).toEqual([3, 1, 0, undefined]);
  });
});
