// Where a quantized model is written inside the worker: a file in the origin
// private file system (OPFS), so that outputs larger than memory are fine, or
// memory when OPFS is unavailable (old browsers, some private modes).
//
// OPFS files are written under a temporary name and renamed when complete, and
// deleted on cancel or failure, so no half-written file is ever left behind
// under a real name. Each page session writes into its own folder, held by a
// Web Lock for the session's lifetime; folders whose lock is free belong to
// sessions that have ended (tab closed mid-run, reload) and are removed.

import type { ByteSink } from '../formats/sink';

export interface QuantizeOutput {
  readonly sink: ByteSink;
  readonly storage: 'opfs' | 'memory';
  /** Makes the output final and returns it as a file. */
  finish(): Promise<File>;
  /** Removes what was written: after a failure or cancel, or when a finished model is closed. */
  discard(): Promise<void>;
}

/** Top-level OPFS folder of all sessions' outputs. */
const OUTPUT_FOLDER = 'quantized';
const LOCK_PREFIX = 'quantscope-output-';
const sessionId = crypto.randomUUID();
let sessionFolder: Promise<FileSystemDirectoryHandle> | null = null;
let outputCount = 0;

/** Output for a file called `fileName`: in OPFS if it can be used, else in memory. */
export async function createOutput(fileName: string): Promise<QuantizeOutput> {
  try {
    return await OpfsOutput.create(await sessionDirectory(), `${++outputCount}-${fileName}`, fileName);
  } catch {
    return new MemoryOutput(fileName);
  }
}

function sessionDirectory(): Promise<FileSystemDirectoryHandle> {
  sessionFolder ??= (async () => {
    const root = await navigator.storage.getDirectory();
    const outputs = await root.getDirectoryHandle(OUTPUT_FOLDER, { create: true });
    await holdSessionLock();
    await removeEndedSessions(outputs);
    return outputs.getDirectoryHandle(sessionId, { create: true });
  })();
  // A failure (no OPFS) is remembered, so later runs go straight to memory.
  return sessionFolder;
}

/** Takes this session's lock and keeps it until the worker ends. */
function holdSessionLock(): Promise<void> {
  return new Promise((locked) => {
    void navigator.locks.request(`${LOCK_PREFIX}${sessionId}`, () => {
      locked();
      return new Promise<void>(() => undefined);
    });
  });
}

async function removeEndedSessions(outputs: FileSystemDirectoryHandle): Promise<void> {
  // The DOM typings in use lack the async iteration of directory handles.
  const names = (outputs as unknown as { keys(): AsyncIterable<string> }).keys();
  for await (const name of names) {
    if (name === sessionId) continue;
    await navigator.locks.request(`${LOCK_PREFIX}${name}`, { ifAvailable: true }, async (lock) => {
      if (lock) await outputs.removeEntry(name, { recursive: true }).catch(() => undefined);
    });
  }
}

/** A file handle with `move`, which Chromium and Firefox have and the DOM typings lack. */
type MovableFileHandle = FileSystemFileHandle & { move(newName: string): Promise<void> };
const canRename = typeof FileSystemFileHandle !== 'undefined' && 'move' in FileSystemFileHandle.prototype;

class OpfsOutput implements QuantizeOutput {
  readonly storage = 'opfs';
  readonly sink: ByteSink;
  private closed = false;

  private constructor(
    private readonly folder: FileSystemDirectoryHandle,
    private readonly handle: FileSystemFileHandle,
    private readonly access: FileSystemSyncAccessHandle,
    /** The file's name in the folder now: temporary while writing, final after finish(). */
    private storedName: string,
    /** The name when finished, unique within the session folder. */
    private readonly finalName: string,
    /** The model's name, which downloads keep. */
    private readonly fileName: string,
  ) {
    let position = 0;
    this.sink = {
      write: (chunk) => {
        const written = access.write(chunk, { at: position });
        if (written !== chunk.length) throw new Error(`could not write to the browser's file storage (${written} of ${chunk.length} bytes written; is it full?)`);
        position += written;
      },
    };
  }

  static async create(folder: FileSystemDirectoryHandle, finalName: string, fileName: string): Promise<OpfsOutput> {
    // Without `move` there is no rename: the file is written under its final name and discard() alone keeps things clean.
    const writingName = canRename ? `${finalName}.partial` : finalName;
    const handle = await folder.getFileHandle(writingName, { create: true });
    try {
      return new OpfsOutput(folder, handle, await handle.createSyncAccessHandle(), writingName, finalName, fileName);
    } catch (e) {
      await folder.removeEntry(writingName).catch(() => undefined);
      throw e;
    }
  }

  async finish(): Promise<File> {
    this.access.flush();
    this.close();
    if (this.storedName !== this.finalName) {
      await (this.handle as MovableFileHandle).move(this.finalName);
      this.storedName = this.finalName;
    }
    const stored = await this.handle.getFile();
    return new File([stored], this.fileName, { lastModified: stored.lastModified });
  }

  async discard(): Promise<void> {
    this.close();
    await this.folder.removeEntry(this.storedName).catch(() => undefined);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.access.close();
  }
}

/** Blob parts in memory: the fallback, limited by memory rather than storage. */
class MemoryOutput implements QuantizeOutput {
  readonly storage = 'memory';
  readonly sink: ByteSink;
  private parts: Uint8Array<ArrayBuffer>[] = [];

  constructor(private readonly fileName: string) {
    // Writers may reuse their buffers, so each chunk is copied.
    this.sink = { write: (chunk) => void this.parts.push(chunk.slice()) };
  }

  async finish(): Promise<File> {
    const file = new File(this.parts, this.fileName);
    this.parts = [];
    return file;
  }

  async discard(): Promise<void> {
    this.parts = [];
  }
}
