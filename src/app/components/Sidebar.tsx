// The side column: loaded models (click to inspect, × to close; quantization
// results marked as variants of their source), files that could not be opened
// with the reason, and what is still being read.

import { exact, humanBytes, humanCount } from '../format';
import { usePlayground } from '../store';

export function Sidebar() {
  const models = usePlayground((s) => s.models);
  const selectedId = usePlayground((s) => s.selectedModelId);
  const errors = usePlayground((s) => s.errors);
  const pending = usePlayground((s) => s.pending);
  const skipped = usePlayground((s) => s.skipped);
  const variants = usePlayground((s) => s.variants);
  const { selectModel, closeModel, dismissError } = usePlayground.getState();

  return (
    <aside className="sidebar">
      <h2>Models</h2>
      <ul className="model-list" data-testid="model-list">
        {models.map((m) => {
          const variant = variants[m.id];
          return (
            <li key={m.id} className={m.id === selectedId ? 'selected' : ''} data-testid="model-item">
              <button type="button" className="model-button" onClick={() => selectModel(m.id)} aria-current={m.id === selectedId}>
                <span className="model-name" data-testid="model-name" title={m.name}>{m.name}</span>
                <span className="model-meta">
                  <span className="badge">{m.format === 'gguf' ? 'GGUF' : 'safetensors'}</span> {humanCount(m.summary.parameterCount)} · {humanBytes(m.summary.fileSize)}
                </span>
                {variant && (
                  <span className="model-variant" data-testid="model-variant" title={`Quantized in this page from ${variant.sourceName}`}>
                    ↳ {variant.recipe} of {variant.sourceName}
                  </span>
                )}
              </button>
              <button type="button" className="close" onClick={() => closeModel(m.id)} aria-label={`Close ${m.name}`} title="Close">
                ×
              </button>
            </li>
          );
        })}
        {pending.map((p) => (
          <li key={`pending-${p.id}`} className="pending" data-testid="loading">
            <span className="spinner" aria-hidden="true" />
            <span>Reading {p.label}…</span>
          </li>
        ))}
        {models.length === 0 && pending.length === 0 && <li className="muted">No model loaded.</li>}
      </ul>

      {errors.length > 0 && (
        <>
          <h2>Could not open</h2>
          <ul className="error-list">
            {errors.map((e) => (
              <li key={e.id} className="open-error" data-testid="open-error">
                <div className="open-error-head">
                  <span className="mono open-error-file" data-testid="open-error-file">{e.file}</span>
                  <button type="button" className="close" onClick={() => dismissError(e.id)} aria-label={`Dismiss error for ${e.file}`} title="Dismiss">
                    ×
                  </button>
                </div>
                <p className="open-error-message" data-testid="open-error-message">{e.message}</p>
                {(e.field !== null || e.offset !== null) && (
                  <p className="open-error-where muted">
                    {e.field !== null && <>in {e.field}</>}
                    {e.field !== null && e.offset !== null && ', '}
                    {e.offset !== null && <>at byte {exact(e.offset)}</>}
                  </p>
                )}
              </li>
            ))}
          </ul>
        </>
      )}

      {skipped.length > 0 && (
        <p className="muted skipped" title={skipped.join('\n')}>
          Skipped {skipped.length} {skipped.length === 1 ? 'file' : 'files'} that {skipped.length === 1 ? 'is' : 'are'} not model files.
        </p>
      )}
    </aside>
  );
}
