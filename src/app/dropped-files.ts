// Turns what the user dropped or picked into NamedBlobs for the worker. Folders
// are walked (drag and drop through webkitGetAsEntry, the folder picker through
// webkitRelativePath); only File handles are collected, never their contents.

import { isCompanionFile, type NamedBlob } from '../formats/model';

/** Files the inspector opens. Inside a folder everything else (README, .gitattributes, …) is skipped. */
export function isModelFile(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.endsWith('.gguf') || lower.endsWith('.safetensors') || isCompanionFile(lower);
}

/** What the file pickers accept. */
export const ACCEPT = '.gguf,.safetensors,.json,.jinja,.model';

export interface CollectedFiles {
  files: NamedBlob[];
  /** Files inside dropped folders that are not model files. */
  skipped: string[];
}

/**
 * Files from a file picker. A folder picker sets webkitRelativePath
 * ("folder/model.safetensors"); files in a folder are filtered to model files,
 * files picked one by one all go to the inspector, which explains any it cannot open.
 */
export function filesFromList(list: FileList | File[]): CollectedFiles {
  const collected: CollectedFiles = { files: [], skipped: [] };
  for (const file of Array.from(list)) {
    const path = file.webkitRelativePath || undefined;
    if (path && !isModelFile(file.name)) collected.skipped.push(path);
    else collected.files.push({ name: file.name, blob: file, ...(path ? { path } : {}) });
  }
  return collected;
}

/**
 * Files and folders from a drop. Must be called synchronously in the drop
 * handler: the browser empties the DataTransfer once the event returns, so the
 * entries are taken before the first await.
 */
export function filesFromDataTransfer(dataTransfer: DataTransfer): Promise<CollectedFiles> {
  const roots: { entry: FileSystemEntry | null; file: File | null }[] = [];
  for (const item of Array.from(dataTransfer.items)) {
    if (item.kind !== 'file') continue;
    // DataTransfers built by scripts carry plain files without entries.
    roots.push({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() });
  }
  if (roots.length === 0) return Promise.resolve(filesFromList(dataTransfer.files));
  return collectRoots(roots);
}

async function collectRoots(roots: { entry: FileSystemEntry | null; file: File | null }[]): Promise<CollectedFiles> {
  const collected: CollectedFiles = { files: [], skipped: [] };
  for (const { entry, file } of roots) {
    if (entry?.isDirectory) await walkDirectory(entry as FileSystemDirectoryEntry, collected);
    else if (file) collected.files.push({ name: file.name, blob: file });
    else if (entry?.isFile) collected.files.push({ name: entry.name, blob: await fileOf(entry as FileSystemFileEntry) });
  }
  return collected;
}

async function walkDirectory(directory: FileSystemDirectoryEntry, collected: CollectedFiles): Promise<void> {
  for (const entry of await readAllEntries(directory)) {
    const path = entry.fullPath.replace(/^\//, '');
    if (entry.isDirectory) await walkDirectory(entry as FileSystemDirectoryEntry, collected);
    else if (!isModelFile(entry.name)) collected.skipped.push(path);
    else collected.files.push({ name: entry.name, blob: await fileOf(entry as FileSystemFileEntry), path });
  }
}

/** readEntries returns a folder's entries in batches (100 in Chromium) until it returns none. */
async function readAllEntries(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const entries: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return entries;
    entries.push(...batch);
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}
