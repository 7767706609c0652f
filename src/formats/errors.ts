/**
 * A model file that cannot be read as what it claims to be. `field` names the
 * part of the format that is wrong and `offset` the byte where it was found, so
 * that a person can tell "the file is truncated" from "the writer had a bug".
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';
  constructor(
    readonly field: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${field} at byte ${offset}: ${detail}`);
  }
}
