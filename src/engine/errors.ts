/** Invalid use of the inference engine: bad options, sequences that do not fit the context. */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}
