/** A tokenizer cannot be built from the given metadata, or cannot encode/decode its input. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}
