import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { NamedBlob } from '../formats/model';

/** Opens files as Blobs backed by the file system: nothing is read until a slice is. */
export async function openFiles(paths: string[]): Promise<NamedBlob[]> {
  return Promise.all(paths.map(async (p) => ({ name: basename(p), path: p, blob: await openAsBlob(p) })));
}
