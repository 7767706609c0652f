/**
 * Where a writer streams its output: a file in Node, an OPFS writable or a
 * download in the browser, or memory in tests. Writers call `write` in order
 * and never hold more than one tensor at a time.
 */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void> | void;
}

/** Collects everything written, for tests and small outputs. */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  length = 0;
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
    this.length += chunk.length;
  }
  bytes(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
