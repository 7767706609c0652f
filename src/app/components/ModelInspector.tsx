// One model in the inspector: its header (format, files) and three tabs:
// overview, metadata, tensors.

import type { ModelView } from '../../formats/model';
import { exact, humanBytes, humanCount } from '../format';
import { usePlayground, type InspectorTab } from '../store';
import { MetadataTable } from './MetadataTable';
import { Overview } from './Overview';
import { TensorStatsPanel } from './TensorStatsPanel';
import { TensorTable } from './TensorTable';

export function ModelInspector({ model }: { model: ModelView }) {
  const tab = usePlayground((s) => s.tab);
  const setTab = usePlayground((s) => s.setTab);
  const tabs: { id: InspectorTab; label: string }[] = [
    { id: 'overview', label: 'Overview' },
    { id: 'metadata', label: `Metadata (${exact(model.metadata.length)})` },
    { id: 'tensors', label: `Tensors (${exact(model.tensors.length)})` },
  ];
  const format = model.format === 'gguf' ? `GGUF v${model.version ?? '?'}` : 'safetensors';
  return (
    <div className="inspector" data-testid="inspector">
      <header className="inspector-header">
        <div>
          <h1 data-testid="model-title">{model.name}</h1>
          <p className="muted">
            <span className="badge">{format}</span> {humanCount(model.summary.parameterCount)} parameters · {humanBytes(model.summary.fileSize)} ·{' '}
            <span title={model.files.map((f) => `${f.name} (${exact(f.size)} bytes)`).join('\n')}>
              {model.files.length === 1 ? model.files[0]!.name : `${model.files.length} files`}
            </span>
          </p>
        </div>
        <nav className="tabs" role="tablist">
          {tabs.map((t) => (
            <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'active' : ''} onClick={() => setTab(t.id)} data-testid={`tab-${t.id}`}>
              {t.label}
            </button>
          ))}
        </nav>
      </header>
      <div className="inspector-body" role="tabpanel">
        {tab === 'overview' && <Overview model={model} />}
        {tab === 'metadata' && <MetadataTable model={model} />}
        {tab === 'tensors' && (
          <div className="tensors-layout">
            <TensorTable model={model} />
            <TensorStatsPanel model={model} />
          </div>
        )}
      </div>
    </div>
  );
}
