import { describe, expect, it } from 'vitest';
import { PieceType, readSentencePieceModel, writeSentencePieceModel } from './sentencepiece-model';
import { ConvertError } from './convert-hf-errors';

describe('SentencePiece tokenizer.model', () => {
  it('reads back the pieces it writes: text (BOM and multi-byte included), float32 score, type', () => {
    const pieces = [
      { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
      { piece: '\uFEFF', score: -1.25, type: PieceType.NORMAL },
      { piece: '▁ünïcödé☃', score: -12345.5, type: PieceType.USER_DEFINED },
      { piece: '<0xFF>', score: 0, type: PieceType.BYTE },
    ];
    expect(readSentencePieceModel(writeSentencePieceModel(pieces))).toEqual(pieces);
  });

  it('skips the other fields of the model and of each piece, and defaults a missing type to NORMAL', () => {
    // Field 2 (trainer_spec) before the pieces; a piece with an unknown varint field 7 and no type.
    const trainerSpec = [0x12, 0x03, 0x08, 0x96, 0x01];
    const piece = [0x0a, 0x01, 0x61, 0x15, 0x00, 0x00, 0x80, 0x3f, 0x38, 0x05];
    const bytes = Uint8Array.from([...trainerSpec, 0x0a, piece.length, ...piece]);
    expect(readSentencePieceModel(bytes)).toEqual([{ piece: 'a', score: 1, type: PieceType.NORMAL }]);
  });

  it('refuses what is not a SentencePiece model', () => {
    expect(() => readSentencePieceModel(new TextEncoder().encode('{"not": "protobuf"}'))).toThrow(ConvertError);
    expect(() => readSentencePieceModel(Uint8Array.from([0x0a, 0x10, 0x0a]))).toThrow(/runs past the end/);
    expect(() => readSentencePieceModel(new Uint8Array(0))).toThrow(/has no pieces/);
  });
});
