/** A tensor type that this build cannot decode or encode (yet): named, never decoded wrongly. */
export class UnsupportedTypeError extends Error {
  override readonly name = 'UnsupportedTypeError';
  constructor(readonly typeName: string, readonly operation: 'dequantize' | 'quantize') {
    super(`${operation} is not supported for tensor type ${typeName}`);
  }
}
