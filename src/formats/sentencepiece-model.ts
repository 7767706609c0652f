// SentencePiece's tokenizer.model: a protobuf ModelProto whose field 1 repeats the pieces
// (each a message of piece text = 1, score = 2 (float), type = 3 (enum)). Only the pieces are
// read; the trainer and normalizer specs are skipped. The writer is the inverse, for tests.

import { ConvertError } from './convert-hf-errors';

/** SentencePiece's piece types; their numbers are also llama.cpp's token types. */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

const WIRE = { VARINT: 0, FIXED64: 1, BYTES: 2, FIXED32: 5 } as const;

/** A protobuf message being read: fields as (number, wire type, value) in file order. */
class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** Varints as numbers: the fields read here (lengths, enums) stay far below 2^53. */
  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.pos >= this.bytes.length) throw this.error('a varint runs past the end');
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw this.error('a varint is longer than 10 bytes');
  }

  field(): { number: number; wire: number } {
    const key = this.varint();
    return { number: Math.floor(key / 8), wire: key % 8 };
  }

  bytesField(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.bytes.length) throw this.error(`a field of ${length} bytes runs past the end`);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  float32(): number {
    if (this.pos + 4 > this.bytes.length) throw this.error('a float runs past the end');
    const value = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return value;
  }

  skip(wire: number): void {
    if (wire === WIRE.VARINT) this.varint();
    else if (wire === WIRE.BYTES) this.bytesField();
    else if (wire === WIRE.FIXED64 || wire === WIRE.FIXED32) {
      const size = wire === WIRE.FIXED64 ? 8 : 4;
      if (this.pos + size > this.bytes.length) throw this.error('a fixed-size field runs past the end');
      this.pos += size;
    } else throw this.error(`unsupported protobuf wire type ${wire}`);
  }

  private error(detail: string): ConvertError {
    return new ConvertError('tokenizer.model', `is not a SentencePiece model: ${detail} (at byte ${this.pos})`);
  }
}

// ignoreBOM: a piece may be U+FEFF itself.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The pieces of a SentencePiece model, in id order. */
export function readSentencePieceModel(bytes: Uint8Array): SentencePiece[] {
  const model = new ProtoReader(bytes);
  const pieces: SentencePiece[] = [];
  while (!model.done) {
    const { number, wire } = model.field();
    if (number !== 1 || wire !== WIRE.BYTES) {
      model.skip(wire);
      continue;
    }
    const message = new ProtoReader(model.bytesField());
    const entry: SentencePiece = { piece: '', score: 0, type: PieceType.NORMAL };
    while (!message.done) {
      const f = message.field();
      if (f.number === 1 && f.wire === WIRE.BYTES) {
        try {
          entry.piece = utf8.decode(message.bytesField());
        } catch {
          throw new ConvertError('tokenizer.model', `piece ${pieces.length} is not valid UTF-8`);
        }
      } else if (f.number === 2 && f.wire === WIRE.FIXED32) entry.score = message.float32();
      else if (f.number === 3 && f.wire === WIRE.VARINT) entry.type = message.varint();
      else message.skip(f.wire);
    }
    pieces.push(entry);
  }
  if (pieces.length === 0) throw new ConvertError('tokenizer.model', 'has no pieces: not a SentencePiece model');
  return pieces;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

function lengthDelimited(fieldNumber: number, payload: Uint8Array): number[] {
  return [...varintBytes(fieldNumber * 8 + WIRE.BYTES), ...varintBytes(payload.length), ...payload];
}

/** A ModelProto holding only `pieces` (what readSentencePieceModel reads back). */
export function writeSentencePieceModel(pieces: readonly SentencePiece[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  const encoder = new TextEncoder();
  const score = new DataView(new ArrayBuffer(4));
  for (const p of pieces) {
    score.setFloat32(0, p.score, true);
    const message = [
      ...lengthDelimited(1, encoder.encode(p.piece)),
      ...varintBytes(2 * 8 + WIRE.FIXED32), ...new Uint8Array(score.buffer),
      ...varintBytes(3 * 8 + WIRE.VARINT), ...varintBytes(p.type),
    ];
    out.push(...lengthDelimited(1, Uint8Array.from(message)));
  }
  return Uint8Array.from(out);
}
