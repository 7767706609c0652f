import { describe, expect, it } from 'vitest';
import { filesFromDataTransfer, filesFromList, isModelFile } from './dropped-files';

/** A File as the folder picker gives it: with its path inside the chosen folder. */
function pickedFile(path: string): File {
  const file = new File(['x'], path.slice(path.lastIndexOf('/') + 1));
  Object.defineProperty(file, 'webkitRelativePath', { value: path });
  return file;
}

/** In-memory file system entries, shaped like the browser's, for walking dropped folders. */
function fileEntry(fullPath: string): FileSystemFileEntry {
  const name = fullPath.slice(fullPath.lastIndexOf('/') + 1);
  return { isFile: true, isDirectory: false, name, fullPath, file: (resolve: (f: File) => void) => resolve(new File([name], name)) } as unknown as FileSystemFileEntry;
}

function directoryEntry(fullPath: string, children: FileSystemEntry[], batchSize: number): FileSystemDirectoryEntry {
  return {
    isFile: false, isDirectory: true, name: fullPath.slice(fullPath.lastIndexOf('/') + 1), fullPath,
    createReader: () => {
      let at = 0;
      // Like Chromium, hand out the entries in batches, then an empty batch.
      return { readEntries: (resolve: (batch: FileSystemEntry[]) => void) => resolve(children.slice(at, (at += batchSize))) };
    },
  } as unknown as FileSystemDirectoryEntry;
}

function transferOf(items: { entry: FileSystemEntry | null; file: File | null }[]): DataTransfer {
  return {
    items: items.map(({ entry, file }) => ({ kind: 'file', webkitGetAsEntry: () => entry, getAsFile: () => file })),
    files: [],
  } as unknown as DataTransfer;
}

describe('isModelFile', () => {
  it('accepts model files and their companions only', () => {
    for (const name of ['a.gguf', 'B.GGUF', 'model-00001-of-00002.safetensors', 'model.safetensors.index.json', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja', 'chat_template.json', 'tokenizer.model']) {
      expect(isModelFile(name), name).toBe(true);
    }
    for (const name of ['README.md', '.gitattributes', 'special_tokens_map.json', 'pytorch_model.bin', 'gguf', 'template.jinja']) {
      expect(isModelFile(name), name).toBe(false);
    }
  });
});

describe('filesFromList', () => {
  it('passes files picked one by one through, whatever their names', () => {
    const { files, skipped } = filesFromList([new File(['x'], 'a.gguf'), new File(['x'], 'notes.txt')]);
    expect(files.map((f) => [f.name, f.path])).toEqual([['a.gguf', undefined], ['notes.txt', undefined]]);
    expect(skipped).toEqual([]);
  });

  it('keeps the paths of a picked folder and skips what is not a model file', () => {
    const { files, skipped } = filesFromList([pickedFile('llama/model.safetensors'), pickedFile('llama/config.json'), pickedFile('llama/README.md')]);
    expect(files.map((f) => f.path)).toEqual(['llama/model.safetensors', 'llama/config.json']);
    expect(skipped).toEqual(['llama/README.md']);
  });
});

describe('filesFromDataTransfer', () => {
  it('walks dropped folders, reading every batch of entries', async () => {
    const shards = Array.from({ length: 5 }, (_, i) => fileEntry(`/llama/model-0000${i + 1}-of-00005.safetensors`));
    const nested = directoryEntry('/llama/sub', [fileEntry('/llama/sub/config.json')], 2);
    const folder = directoryEntry('/llama', [...shards, fileEntry('/llama/README.md'), nested], 2);
    const loose = new File(['x'], 'loose.gguf');
    const { files, skipped } = await filesFromDataTransfer(transferOf([{ entry: folder, file: null }, { entry: null, file: loose }]));
    expect(files.map((f) => f.path ?? f.name)).toEqual([...shards.map((s) => s.fullPath.slice(1)), 'llama/sub/config.json', 'loose.gguf']);
    expect(files.at(-1)!.blob).toBe(loose);
    expect(skipped).toEqual(['llama/README.md']);
  });
});
