/** A model file that this runtime cannot run: unknown architecture, missing or inconsistent tensors or metadata. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}
