// The tensor table: every tensor with its type, shape, size and offset,
// sortable by each column and filterable by name or type. Rows are windowed
// (VirtualRows), so models with tens of thousands of tensors stay smooth.

import { useMemo } from 'react';
import type { ModelView, TensorEntry } from '../../formats/model';
import { countText, exact, humanBytes, shapeText } from '../format';
import { usePlayground, type TensorColumn } from '../store';
import { filterTensors, sortTensors } from '../tensor-query';
import { VirtualRows } from './VirtualRows';

/** Every row has this height (px): the windowing relies on it. */
const ROW_HEIGHT = 28;

const COLUMNS: { column: TensorColumn; label: string; numeric: boolean; title?: string }[] = [
  { column: 'name', label: 'Name', numeric: false },
  { column: 'type', label: 'Type', numeric: false },
  { column: 'shape', label: 'Shape', numeric: false, title: 'GGUF: ne order, row length first. safetensors: row-major, outermost first.' },
  { column: 'elements', label: 'Elements', numeric: true },
  { column: 'bytes', label: 'Bytes', numeric: true },
  { column: 'offset', label: 'Offset', numeric: true, title: 'Absolute byte offset in its file' },
];

export function TensorTable({ model }: { model: ModelView }) {
  const filter = usePlayground((s) => s.tensorFilter);
  const sort = usePlayground((s) => s.tensorSort);
  const selected = usePlayground((s) => s.selectedTensor[model.id]);
  const setFilter = usePlayground((s) => s.setTensorFilter);
  const sortBy = usePlayground((s) => s.sortTensorsBy);
  const selectTensor = usePlayground((s) => s.selectTensor);
  const rows = useMemo(() => sortTensors(filterTensors(model.tensors, filter), sort), [model.tensors, filter, sort]);
  const sharded = model.files.filter((f) => f.name.endsWith('.safetensors')).length > 1;

  const renderRow = (t: TensorEntry) => (
    <div
      key={t.name}
      role="row"
      className={`tensor-row grid-row${t.name === selected ? ' selected' : ''}`}
      style={{ height: ROW_HEIGHT }}
      aria-selected={t.name === selected}
      tabIndex={0}
      onClick={() => void selectTensor(t.name)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          void selectTensor(t.name);
        }
      }}
      data-testid="tensor-row"
    >
      <span role="cell" className="mono name" title={t.name} data-testid="tensor-name">{t.name}</span>
      <span role="cell" className="mono">{t.type}</span>
      <span role="cell" className="mono">{shapeText(t.shape)}</span>
      <span role="cell" className="num">{exact(t.elements)}</span>
      <span role="cell" className="num" title={`${exact(t.bytes)} bytes`}>{humanBytes(t.bytes)}</span>
      <span role="cell" className="num" title={sharded ? t.file : undefined}>{exact(t.offset)}</span>
    </div>
  );

  return (
    <section className="card tensors">
      <div className="toolbar">
        <input
          type="search"
          className="search"
          placeholder="Filter by name or type (e.g. blk.0 or Q4_K)"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="tensor-filter"
          aria-label="Filter tensors"
        />
        <span className="count" data-testid="tensor-count">
          {countText(rows.length, model.tensors.length, 'tensors')}
        </span>
      </div>
      <div role="table" className="tensor-grid" aria-label="Tensors" aria-rowcount={rows.length}>
        <div role="row" className="grid-row grid-header">
          {COLUMNS.map(({ column, label, numeric, title }) => {
            const active = sort.column === column;
            return (
              <button
                key={column}
                type="button"
                role="columnheader"
                aria-sort={active ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                className={`${numeric ? 'num' : ''}${active ? ' active' : ''}`}
                title={title}
                onClick={() => sortBy(column)}
                data-testid={`sort-${column}`}
              >
                {label}
                <span className="sort-mark">{active ? (sort.descending ? '▼' : '▲') : ''}</span>
              </button>
            );
          })}
        </div>
        <VirtualRows items={rows} rowHeight={ROW_HEIGHT} renderRow={renderRow} testId="tensor-rows" />
      </div>
      {rows.length === 0 && <p className="empty">No tensor matches “{filter}”.</p>}
    </section>
  );
}
