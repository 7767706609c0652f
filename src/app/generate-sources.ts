// Which file each opened model runs from. The inspector worker answers with model
// descriptions only; the page keeps the files it handed over, so that the generate
// worker can be given the same Blob.

import type { ModelView, NamedBlob } from '../formats/model';
import type { ModelSource } from '../worker/generate.worker';

/**
 * The GGUF file of each GGUF model among `models`. Models come back in the order of
 * the dropped files, so the first unused file with the model's name and size is its file.
 */
export function ggufSources(files: readonly NamedBlob[], models: readonly ModelView[]): Record<string, ModelSource> {
  const unused = [...files];
  const sources: Record<string, ModelSource> = {};
  for (const model of models) {
    if (model.format !== 'gguf') continue;
    const at = unused.findIndex((f) => f.name === model.name && f.blob.size === model.summary.fileSize);
    if (at < 0) continue;
    sources[model.id] = unused[at]!.blob;
    unused.splice(at, 1);
  }
  return sources;
}
