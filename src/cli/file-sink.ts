import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import type { ByteSink } from '../formats/sink';

/**
 * Writes to `path.partial` and renames it to `path` only when complete, so a
 * failed or cancelled run never leaves a half-written file under the real name.
 */
export class FileSink implements ByteSink {
  private constructor(private readonly handle: FileHandle, private readonly path: string) {}

  static async create(path: string): Promise<FileSink> {
    return new FileSink(await open(`${path}.partial`, 'w'), path);
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.handle.write(chunk);
  }

  async commit(): Promise<void> {
    await this.handle.close();
    await rename(`${this.path}.partial`, this.path);
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
  }

  /** Runs `produce` against the sink, committing on success and discarding on any failure. */
  static async writeAtomically<T>(path: string, produce: (sink: FileSink) => Promise<T>): Promise<T> {
    const sink = await FileSink.create(path);
    try {
      const result = await produce(sink);
      await sink.commit();
      return result;
    } catch (e) {
      await sink.discard();
      throw e;
    }
  }
}
