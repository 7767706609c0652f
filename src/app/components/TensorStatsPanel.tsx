// Statistics of the selected tensor, computed by the worker on demand:
// range, mean, spread, non-finite values, outliers, and the histogram.

import type { ModelView } from '../../formats/model';
import { OUTLIER_STDS } from '../../quant/tensor-stats';
import { exact, humanBytes, percent, shapeText, statValue } from '../format';
import { statsKey, usePlayground } from '../store';
import { Histogram } from './Histogram';

export function TensorStatsPanel({ model }: { model: ModelView }) {
  const name = usePlayground((s) => s.selectedTensor[model.id]);
  const result = usePlayground((s) => (name ? s.stats[statsKey(model.id, name)] : undefined));
  const tensor = name ? model.tensors.find((t) => t.name === name) : undefined;

  if (!tensor) {
    return (
      <aside className="card stats-panel empty-panel" data-testid="tensor-stats">
        <p>Click a tensor to compute its statistics.</p>
      </aside>
    );
  }
  return (
    <aside className="card stats-panel" data-testid="tensor-stats">
      <h2 className="mono" data-testid="stats-tensor-name" title={tensor.name}>{tensor.name}</h2>
      <p className="muted">
        {tensor.type} · {shapeText(tensor.shape)} · {humanBytes(tensor.bytes)}
        {model.files.length > 1 ? ` · ${tensor.file}` : ''}
      </p>
      {result?.status === 'loading' && (
        <p className="busy" data-testid="stats-loading">
          <span className="spinner" aria-hidden="true" /> Computing statistics…
        </p>
      )}
      {result?.status === 'error' && <p className="error-text" data-testid="stats-error">{result.message}</p>}
      {result?.status === 'done' && (
        <>
          <dl className="stats-grid">
            <Stat label="Values" value={exact(result.stats.count)} testId="stat-count" />
            <Stat label="Min" value={statValue(result.stats.min)} testId="stat-min" />
            <Stat label="Max" value={statValue(result.stats.max)} testId="stat-max" />
            <Stat label="Mean" value={statValue(result.stats.mean)} testId="stat-mean" />
            <Stat label="Std. dev." value={statValue(result.stats.std)} testId="stat-std" />
            <Stat label="NaN" value={exact(result.stats.nanCount)} testId="stat-nan" warn={result.stats.nanCount > 0} />
            <Stat label="Inf" value={exact(result.stats.infCount)} testId="stat-inf" warn={result.stats.infCount > 0} />
            <Stat label={`Outliers (>${OUTLIER_STDS} std)`} value={percent(result.stats.outlierFraction)} testId="stat-outliers" />
          </dl>
          <Histogram min={result.stats.histogram.min} max={result.stats.histogram.max} bins={result.stats.histogram.bins} />
        </>
      )}
    </aside>
  );
}

function Stat({ label, value, testId, warn = false }: { label: string; value: string; testId: string; warn?: boolean }) {
  return (
    <div className={`stat${warn ? ' warn' : ''}`}>
      <dt>{label}</dt>
      <dd className="mono" data-testid={testId}>{value}</dd>
    </div>
  );
}
