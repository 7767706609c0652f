/** A Hugging Face model that cannot be converted to GGUF; `field` names the file or setting at fault. */
export class ConvertError extends Error {
  override readonly name = 'ConvertError';
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
