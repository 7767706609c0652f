// One model in the inspector: its header (format, files; for a quantization
// result its source and a download) and five tabs: overview, metadata,
// tensors, quantize, generate.

import type { ModelView } from '../../formats/model';
import { exact, humanBytes, humanCount } from '../format';
import { usePlayground, type InspectorTab } from '../store';
import { DownloadLink } from './DownloadLink';
import { GeneratePanel } from './GeneratePanel';
import { MetadataTable } from './MetadataTable';
import { Overview } from './Overview';
import { QuantizePanel } from './QuantizePanel';
import { TensorStatsPanel } from './TensorStatsPanel';
import { TensorTable } from './TensorTable';

export function ModelInspector({ model }: { model: ModelView }) {
  const tab = usePlayground((s) => s.tab);
  const setTab = usePlayground((s) => s.setTab);
  const variant = usePlayground((s) => s.variants[model.id]);
  const tabs: { id: InspectorTab; label: string }[] = [
    { id: 'overview', label: 'Overview' },
    { id: 'metadata', label: `Metadata (${exact(model.metadata.length)})` },
    { id: 'tensors', label: `Tensors (${exact(model.tensors.length)})` },
    { id: 'quantize', label: 'Quantize' },
    { id: 'generate', label: 'Generate' },
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
          {variant && (
            <p className="variant-line" data-testid="variant-source">
              Quantized here from <span className="mono">{variant.sourceName}</span> with {variant.recipe}. <DownloadLink file={variant.file} />
            </p>
          )}
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
        {tab === 'quantize' && <QuantizePanel model={model} />}
        {tab === 'generate' && <GeneratePanel model={model} />}
      </div>
    </div>
  );
}
