// The overview of a model: its summary card, quantization mix, and where its
// bytes go (by tensor type and by layer).

import type { ModelSummary, ModelView } from '../../formats/model';
import { exact, humanBytes, humanCount, percent } from '../format';
import { BarChart } from './BarChart';

const orUnknown = (v: number | string | null) => (v === null ? '—' : typeof v === 'number' ? exact(v) : v);

function ropeText(rope: ModelSummary['rope']): string {
  const parts = [
    rope.dimensions !== null ? `${rope.dimensions} dims` : null,
    rope.freqBase !== null ? `base ${exact(rope.freqBase)}` : null,
    rope.scaling ? `scaling ${rope.scaling}` : null,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : '—';
}

function layoutText(layout: NonNullable<ModelSummary['quantizedLayout']>): string {
  const details = [layout.bits !== null ? `${layout.bits}-bit` : null, layout.groupSize !== null ? `group size ${layout.groupSize}` : null].filter(Boolean);
  return details.length > 0 ? `${layout.scheme} (${details.join(', ')})` : layout.scheme;
}

function Field({ label, value, testId, title }: { label: string; value: string; testId: string; title?: string }) {
  return (
    <div className="field">
      <dt>{label}</dt>
      <dd data-testid={testId} title={title}>{value}</dd>
    </div>
  );
}

export function Overview({ model }: { model: ModelView }) {
  const s = model.summary;
  const heads = s.heads === null ? '—' : `${s.heads} / ${s.kvHeads ?? s.heads}`;
  const weightBytes = s.quantMix.reduce((sum, q) => sum + q.bytes, 0);
  return (
    <div className="overview">
      <section className="card summary" data-testid="summary">
        <h2>Summary</h2>
        <dl className="fields">
          <Field label="Name" value={orUnknown(s.name)} testId="summary-name" />
          <Field label="Architecture" value={orUnknown(s.architecture)} testId="summary-architecture" />
          <Field label="Parameters" value={humanCount(s.parameterCount)} title={`${exact(s.parameterCount)} parameters`} testId="summary-parameters" />
          <Field label="Layers" value={orUnknown(s.layers)} testId="summary-layers" />
          <Field label="Heads / KV heads" value={heads} testId="summary-heads" />
          <Field label="Embedding size" value={orUnknown(s.embeddingSize)} testId="summary-embedding" />
          <Field label="Context length" value={orUnknown(s.contextLength)} testId="summary-context" />
          <Field label="Vocabulary" value={orUnknown(s.vocabSize)} testId="summary-vocab" />
          <Field label="RoPE" value={ropeText(s.rope)} testId="summary-rope" />
          <Field label="File size" value={humanBytes(s.fileSize)} title={`${exact(s.fileSize)} bytes`} testId="summary-file-size" />
          <Field label="Bits per weight" value={s.bitsPerWeight.toFixed(2)} testId="summary-bpw" />
          <Field label="Chat template" value={s.hasChatTemplate ? 'present' : 'none'} testId="summary-chat-template" />
          {model.format === 'safetensors' && (
            <Field label="Quantized layout" value={s.quantizedLayout ? layoutText(s.quantizedLayout) : 'none (plain weights)'} testId="summary-quantized-layout" />
          )}
        </dl>
      </section>

      <section className="card">
        <h2>Quantization mix</h2>
        <table className="data-table" data-testid="quant-mix">
          <thead>
            <tr>
              <th>Type</th>
              <th className="num">Tensors</th>
              <th className="num">Parameters</th>
              <th className="num">Bytes</th>
              <th className="num">Share</th>
            </tr>
          </thead>
          <tbody>
            {s.quantMix.map((q) => (
              <tr key={q.type} data-testid="quant-mix-row">
                <td className="mono" data-testid="quant-mix-type">{q.type}</td>
                <td className="num">{q.tensors}</td>
                <td className="num">{humanCount(q.elements)}</td>
                <td className="num" title={`${exact(q.bytes)} bytes`}>{humanBytes(q.bytes)}</td>
                <td className="num">{weightBytes > 0 ? percent(q.bytes / weightBytes) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="card charts">
        <BarChart title="Bytes by tensor type" bars={s.quantMix.map((q) => ({ label: q.type, value: q.bytes }))} formatValue={humanBytes} testId="chart-by-type" />
        <BarChart title="Bytes by layer" bars={s.bytesByLayer.map((l) => ({ label: l.layer, value: l.bytes }))} formatValue={humanBytes} testId="chart-by-layer" />
      </section>
    </div>
  );
}
