// Every metadata key of a model with its type and value. Long arrays (the
// vocabulary) show a few items and their length; expanding one lists the
// items the worker has sent and fetches more on request. A search box
// filters on keys, types and values.

import { useState } from 'react';
import type { MetadataEntry, ModelView } from '../../formats/model';
import { countText, exact, itemText } from '../format';
import { ARRAY_PAGE, arrayKey, usePlayground } from '../store';

/** Array items shown inline while a row is collapsed. */
const INLINE_ITEMS = 8;
/** Longer strings (chat templates) are cut until expanded. */
const INLINE_CHARS = 160;

function searchableText(entry: MetadataEntry): string {
  const values = entry.value !== null ? [entry.value] : (entry.preview ?? []);
  const shown = values.map((v) => (typeof v === 'string' ? v : itemText(v, entry.type)));
  return [entry.key, entry.type, ...shown].join('\n').toLowerCase();
}

export function MetadataTable({ model }: { model: ModelView }) {
  const filter = usePlayground((s) => s.metadataFilter);
  const setFilter = usePlayground((s) => s.setMetadataFilter);
  const query = filter.trim().toLowerCase();
  const rows = query ? model.metadata.filter((m) => searchableText(m).includes(query)) : model.metadata;
  return (
    <section className="card metadata">
      <div className="toolbar">
        <input
          type="search"
          className="search"
          placeholder="Search keys and values"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="metadata-search"
          aria-label="Search metadata"
        />
        <span className="count" data-testid="metadata-count">
          {countText(rows.length, model.metadata.length, 'keys')}
        </span>
      </div>
      <table className="data-table metadata-table">
        <thead>
          <tr>
            <th>Key</th>
            <th>Type</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((entry) => (
            <tr key={entry.key} data-testid="metadata-row">
              <td className="mono key" data-testid="metadata-key">{entry.key}</td>
              <td className="mono type">{entry.type}</td>
              <td className="value">{entry.arrayLength !== undefined ? <ArrayValue model={model} entry={entry} /> : <ScalarValue entry={entry} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="empty">No metadata matches “{filter}”.</p>}
    </section>
  );
}

function ScalarValue({ entry }: { entry: MetadataEntry }) {
  const [expanded, setExpanded] = useState(false);
  // Long strings (chat templates) are shown as written, without quotes.
  const text = typeof entry.value === 'string' ? entry.value : itemText(entry.value, entry.type);
  if (text.length <= INLINE_CHARS) return <span className="mono">{text}</span>;
  return (
    <div>
      {expanded ? <pre className="long-text">{text}</pre> : <span className="mono">{text.slice(0, INLINE_CHARS)}…</span>}
      <button type="button" className="link" onClick={() => setExpanded(!expanded)}>
        {expanded ? 'show less' : `show all ${exact(text.length)} characters`}
      </button>
    </div>
  );
}

function ArrayValue({ model, entry }: { model: ModelView; entry: MetadataEntry }) {
  const [expanded, setExpanded] = useState(false);
  const fetched = usePlayground((s) => s.arrays[arrayKey(model.id, entry.key)]);
  const loadMore = usePlayground((s) => s.loadArrayItems);
  const length = entry.arrayLength ?? 0;
  const items = fetched?.items ?? entry.preview ?? [];

  if (!expanded) {
    const inline = items.slice(0, INLINE_ITEMS).map((item) => itemText(item, entry.type)).join(', ');
    const more = length > INLINE_ITEMS;
    return (
      <div className="array-value">
        <span className="mono">[{inline}{more ? ', …' : ''}]</span>
        <span className="array-length">{exact(length)} items</span>
        {more && (
          <button type="button" className="link" onClick={() => setExpanded(true)} data-testid="metadata-expand">
            expand
          </button>
        )}
      </div>
    );
  }

  const remaining = length - items.length;
  return (
    <div className="array-value expanded">
      <ol className="array-items mono" start={0} data-testid="metadata-array-items">
        {items.map((item, i) => (
          <li key={i}>{itemText(item, entry.type)}</li>
        ))}
      </ol>
      <div className="array-actions">
        <span className="array-length">
          showing {exact(items.length)} of {exact(length)} items
        </span>
        {remaining > 0 && (
          <button type="button" className="link" disabled={fetched?.loading} onClick={() => void loadMore(entry.key)} data-testid="metadata-more">
            {fetched?.loading ? 'loading…' : `show ${exact(Math.min(ARRAY_PAGE, remaining))} more`}
          </button>
        )}
        <button type="button" className="link" onClick={() => setExpanded(false)}>
          collapse
        </button>
        {fetched?.error && <span className="error-text">{fetched.error}</span>}
      </div>
    </div>
  );
}
