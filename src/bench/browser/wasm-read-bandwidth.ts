// Memory read bandwidth as a WASM SIMD loop sees it: the ceiling for kernels
// that stream weights through WebAssembly, which a scalar JS loop underestimates.
// The module is tiny, so it is assembled here byte by byte rather than built.

/** Unsigned LEB128, the integer encoding of the WASM binary format. */
function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb128(content.length), ...content];
}

function name(text: string): number[] {
  return [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
}

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  loop: 0x03, end: 0x0b, brIf: 0x0d, localGet: 0x20, localSet: 0x21, i32Const: 0x41, i32LtU: 0x49, i32Add: 0x6a,
  v128Load: [0xfd, 0x00], i32x4Add: [0xfd, 0xae, 0x01], i32x4ExtractLane: [0xfd, 0x1b],
};
const PTR = 0, END = 1, FIRST_ACC = 2, ACCUMULATORS = 4;

/**
 * `sum(ptr, end) → i32`: adds the 16-byte vectors in [ptr, end) into four independent
 * accumulators (so loads, not add latency, bound the loop), 64 bytes per iteration;
 * end − ptr must be a positive multiple of 64. Exports its memory, which starts empty.
 */
export function readLoopModule(): Uint8Array<ArrayBuffer> {
  const accumulate = Array.from({ length: ACCUMULATORS }, (_, i) => [
    op.localGet, FIRST_ACC + i, op.localGet, PTR, ...op.v128Load, 4, ...leb128(16 * i), ...op.i32x4Add, op.localSet, FIRST_ACC + i,
  ]).flat();
  const advance = [op.localGet, PTR, op.i32Const, 0xc0, 0x00 /* 64, signed LEB128 */, op.i32Add, op.localSet, PTR];
  const repeatWhileBelowEnd = [op.localGet, PTR, op.localGet, END, op.i32LtU, op.brIf, 0];
  const combine = [
    op.localGet, FIRST_ACC,
    ...Array.from({ length: ACCUMULATORS - 1 }, (_, i) => [op.localGet, FIRST_ACC + 1 + i, ...op.i32x4Add]).flat(),
    ...op.i32x4ExtractLane, 0,
  ];
  const body = [1, ACCUMULATORS, V128, op.loop, 0x40, ...accumulate, ...advance, ...repeatWhileBelowEnd, op.end, ...combine, op.end];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 2, I32, I32, 1, I32]), // one type: (i32, i32) → i32
    ...section(3, [1, 0]), // one function of that type
    ...section(5, [1, 0x00, 0]), // one memory, no maximum, 0 pages at first
    ...section(7, [2, ...name('sum'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...leb128(body.length), ...body]),
  ]);
}

const PAGE_BYTES = 65536;

/**
 * Bytes per second for reading `bytes` (rounded up to 64 KiB pages) `repeats` times with SIMD loads.
 * `startTogether` runs after the memory is allocated and touched, right before timing starts: threads
 * measuring at once use it to line up, so that their reads overlap and their speeds add up.
 */
export async function measureWasmReadBandwidth(bytes: number, repeats: number, startTogether: () => void = () => {}): Promise<number> {
  const { instance } = await WebAssembly.instantiate(readLoopModule());
  const memory = instance.exports.memory as WebAssembly.Memory;
  const sum = instance.exports.sum as (ptr: number, end: number) => number;
  const pages = Math.ceil(bytes / PAGE_BYTES);
  memory.grow(pages);
  const length = pages * PAGE_BYTES;
  // Touch every page, and run the loop once so that it is compiled, before timing.
  new Uint8Array(memory.buffer).fill(1);
  sum(0, length);
  startTogether();
  const t0 = performance.now();
  for (let r = 0; r < repeats; r++) sum(0, length);
  return (length * repeats) / ((performance.now() - t0) / 1000);
}
