import { FormatError } from './errors';

const DEFAULT_CHUNK = 1 << 20;
// ignoreBOM keeps a leading U+FEFF (a real vocabulary token) instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Reads a Blob front to back in chunks, so that a file header can be parsed
 * without ever holding the whole file. Reads past the end of the Blob throw
 * FormatError naming the field being read.
 */
export class BlobCursor {
  private window = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  /** File offset of window[0]. */
  private windowStart = 0;
  /** Current file offset. */
  pos: number;

  constructor(
    readonly blob: Blob,
    start = 0,
    private readonly chunkSize = DEFAULT_CHUNK,
  ) {
    this.pos = start;
    this.windowStart = start;
  }

  get size(): number {
    return this.blob.size;
  }

  get remaining(): number {
    return this.blob.size - this.pos;
  }

  /** Makes `n` bytes from the current position available, or throws if the file ends first. */
  async need(n: number, field: string): Promise<void> {
    const windowEnd = this.windowStart + this.window.length;
    if (this.pos + n <= windowEnd) return;
    if (this.pos + n > this.blob.size) {
      throw new FormatError(field, this.pos, `needs ${n} bytes but the file ends after ${this.blob.size - this.pos}`);
    }
    const readEnd = Math.min(this.blob.size, this.pos + Math.max(n, this.chunkSize));
    const fresh = new Uint8Array(await this.blob.slice(this.pos, readEnd).arrayBuffer());
    this.window = fresh;
    this.view = new DataView(fresh.buffer);
    this.windowStart = this.pos;
  }

  private at(n: number): number {
    const i = this.pos - this.windowStart;
    this.pos += n;
    return i;
  }

  async u8(field: string): Promise<number> {
    await this.need(1, field);
    return this.view.getUint8(this.at(1));
  }
  async i8(field: string): Promise<number> {
    await this.need(1, field);
    return this.view.getInt8(this.at(1));
  }
  async u16(field: string): Promise<number> {
    await this.need(2, field);
    return this.view.getUint16(this.at(2), true);
  }
  async i16(field: string): Promise<number> {
    await this.need(2, field);
    return this.view.getInt16(this.at(2), true);
  }
  async u32(field: string): Promise<number> {
    await this.need(4, field);
    return this.view.getUint32(this.at(4), true);
  }
  async i32(field: string): Promise<number> {
    await this.need(4, field);
    return this.view.getInt32(this.at(4), true);
  }
  async f32(field: string): Promise<number> {
    await this.need(4, field);
    return this.view.getFloat32(this.at(4), true);
  }
  async f64(field: string): Promise<number> {
    await this.need(8, field);
    return this.view.getFloat64(this.at(8), true);
  }
  async u64(field: string): Promise<bigint> {
    await this.need(8, field);
    return this.view.getBigUint64(this.at(8), true);
  }
  async i64(field: string): Promise<bigint> {
    await this.need(8, field);
    return this.view.getBigInt64(this.at(8), true);
  }

  /** A u64 that must fit in a JS number and be at most `max` (used for counts and lengths). */
  async count(field: string, max: number): Promise<number> {
    const start = this.pos;
    const v = await this.u64(field);
    if (v > BigInt(max)) {
      throw new FormatError(field, start, `value ${v} cannot fit in the ${this.size - start} bytes left of the file (at most ${max}): the file is truncated or corrupt`);
    }
    return Number(v);
  }

  async bytes(n: number, field: string): Promise<Uint8Array> {
    await this.need(n, field);
    const i = this.at(n);
    return this.window.subarray(i, i + n);
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes. */
  async string(field: string): Promise<string> {
    const len = await this.count(`${field} length`, this.remaining - 8);
    return utf8.decode(await this.bytes(len, field));
  }
}
