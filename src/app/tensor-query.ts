// Filtering and sorting of the tensor table, kept apart from React so that it
// can be tested directly.

import type { TensorEntry } from '../formats/model';
import type { TensorColumn, TensorSort } from './store';

/** Every whitespace-separated term must occur (case-insensitively) in the name or the type. */
export function filterTensors(tensors: TensorEntry[], query: string): TensorEntry[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return tensors;
  return tensors.filter((t) => {
    const text = `${t.name} ${t.type}`.toLowerCase();
    return terms.every((term) => text.includes(term));
  });
}

// Numeric collation so that blk.2 sorts before blk.10.
const collator = new Intl.Collator('en', { numeric: true });

const COMPARE: Record<TensorColumn, (a: TensorEntry, b: TensorEntry) => number> = {
  name: (a, b) => collator.compare(a.name, b.name),
  type: (a, b) => collator.compare(a.type, b.type),
  shape: compareShapes,
  elements: (a, b) => a.elements - b.elements,
  bytes: (a, b) => a.bytes - b.bytes,
  // Tensors of a sharded model live in different files: order by file, then offset.
  offset: (a, b) => collator.compare(a.file, b.file) || a.offset - b.offset,
};

/** Shapes compare by rank, then dimension by dimension. */
function compareShapes(a: TensorEntry, b: TensorEntry): number {
  if (a.shape.length !== b.shape.length) return a.shape.length - b.shape.length;
  for (let i = 0; i < a.shape.length; i++) {
    const d = a.shape[i]! - b.shape[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** A sorted copy; ties keep file order, whatever the direction. */
export function sortTensors(tensors: TensorEntry[], sort: TensorSort): TensorEntry[] {
  const compare = COMPARE[sort.column];
  const sign = sort.descending ? -1 : 1;
  return tensors
    .map((t, index) => ({ t, index }))
    .sort((a, b) => sign * compare(a.t, b.t) || a.index - b.index)
    .map(({ t }) => t);
}
