// The Quantize tab: for safetensors models, conversion to GGUF; settings (recipe or type, pure, per-tensor overrides), the
// plan the worker computes for them (size, bits per weight, each tensor's
// type), and the run itself with progress, cancel, and the result as a new
// model that can be downloaded.

import { useEffect, useMemo } from 'react';
import type { ModelView } from '../../formats/model';
import { exact, humanBytes, shapeText } from '../format';
import { RECIPE_NAMES } from '../../quant/recipes';
import { CONVERT_FORM, parseQuantizeForm, TARGET_TYPES, variantFileName, type ParsedForm, type QuantizeForm, type TensorTypeOverride } from '../quantize-form';
import { progressFigures } from '../quantize-progress';
import { optionsKeyOf, usePlayground, type PlanResult, type QuantizeRun } from '../store';
import { DownloadLink } from './DownloadLink';

/** Settings are re-planned this long after the last keystroke. */
const PLAN_DELAY_MS = 150;

export function QuantizePanel({ model }: { model: ModelView }) {
  return (
    <div className="quantize">
      {model.format !== 'gguf' && <ConvertCard model={model} />}
      <QuantizeSettings model={model} />
      <QuantizeRunCard model={model} />
      <PlanCard model={model} />
    </div>
  );
}

/** For a safetensors model: quantizing converts it to GGUF first; converting alone is one click. */
function ConvertCard({ model }: { model: ModelView }) {
  return (
    <section className="card quantize-convert" data-testid="quantize-convert">
      <h2>Convert</h2>
      <p>
        This is a Hugging Face safetensors model. It is converted to GGUF as llama.cpp&apos;s convert_hf_to_gguf.py does
        (weights F16, norms F32) before it is quantized.
      </p>
      <div className="run-actions">
        <ConvertButton model={model} />
      </div>
    </section>
  );
}

/** Converts a safetensors model to an F16 GGUF, which appears as a new model (the run shows in the Quantize tab). */
export function ConvertButton({ model }: { model: ModelView }) {
  const running = usePlayground((s) => s.quantizeRun?.status === 'running');
  const convert = () => {
    const { setQuantizeForm, startQuantization } = usePlayground.getState();
    setQuantizeForm(CONVERT_FORM);
    void startQuantization(model.id);
  };
  return (
    <button type="button" className="button" disabled={running} onClick={convert} data-testid="convert-start">
      Convert to GGUF (F16)
    </button>
  );
}

/** A datalist of type names that the type inputs suggest. */
const TYPE_LIST_ID = 'quantize-type-names';

function QuantizeSettings({ model }: { model: ModelView }) {
  const form = usePlayground((s) => s.quantizeForm);
  const setForm = usePlayground((s) => s.setQuantizeForm);
  const running = usePlayground((s) => s.quantizeRun?.status === 'running');
  const update = (patch: Partial<QuantizeForm>) => setForm({ ...form, ...patch });
  const updateOverride = (index: number, patch: Partial<TensorTypeOverride>) =>
    update({ overrides: form.overrides.map((o, i) => (i === index ? { ...o, ...patch } : o)) });
  const alreadyQuantized = model.summary.quantMix.some((q) => !['F32', 'F16', 'BF16'].includes(q.type));

  return (
    <section className="card quantize-settings" data-testid="quantize-settings">
      <h2>Settings</h2>
      <datalist id={TYPE_LIST_ID}>
        {TARGET_TYPES.map((t) => <option key={t} value={t} />)}
      </datalist>
      <fieldset className="quantize-fields" disabled={running}>
        <label className="form-field">
          <span>Recipe or type</span>
          <select value={form.recipe} onChange={(e) => update({ recipe: e.target.value })} data-testid="quantize-recipe">
            <optgroup label="Recipes (llama-quantize)">
              {RECIPE_NAMES.map((r) => <option key={r} value={r}>{r}</option>)}
            </optgroup>
            <optgroup label="One type for every weight">
              {TARGET_TYPES.filter((t) => !(RECIPE_NAMES as readonly string[]).includes(t)).map((t) => <option key={t} value={t}>{t}</option>)}
            </optgroup>
          </select>
        </label>
        <label className="form-check" title="Use the chosen type for every weight matrix, without the recipe's per-tensor choices (llama-quantize --pure)">
          <input type="checkbox" checked={form.pure} onChange={(e) => update({ pure: e.target.checked })} data-testid="quantize-pure" />
          <span>Pure (no per-tensor mix)</span>
        </label>
        <label className="form-field">
          <span>Output tensor type</span>
          <input list={TYPE_LIST_ID} placeholder="recipe's choice" value={form.outputTensorType} onChange={(e) => update({ outputTensorType: e.target.value })} data-testid="quantize-output-type" />
        </label>
        <label className="form-field">
          <span>Token embedding type</span>
          <input list={TYPE_LIST_ID} placeholder="recipe's choice" value={form.tokenEmbeddingType} onChange={(e) => update({ tokenEmbeddingType: e.target.value })} data-testid="quantize-embedding-type" />
        </label>
        <div className="form-field overrides">
          <span title="Tensors whose name matches the regular expression get the type (llama-quantize --tensor-type PATTERN=TYPE)">Per-tensor overrides</span>
          {form.overrides.map((o, i) => (
            <div key={i} className="override-row" data-testid="quantize-override">
              <input className="mono" placeholder="name pattern, e.g. attn_v" value={o.pattern} onChange={(e) => updateOverride(i, { pattern: e.target.value })} aria-label={`Override ${i + 1} pattern`} data-testid="override-pattern" />
              <span aria-hidden="true">=</span>
              <input list={TYPE_LIST_ID} placeholder="type" value={o.type} onChange={(e) => updateOverride(i, { type: e.target.value })} aria-label={`Override ${i + 1} type`} data-testid="override-type" />
              <button type="button" className="close" onClick={() => update({ overrides: form.overrides.filter((_, j) => j !== i) })} aria-label={`Remove override ${i + 1}`} title="Remove">×</button>
            </div>
          ))}
          <button type="button" className="link" onClick={() => update({ overrides: [...form.overrides, { pattern: '', type: '' }] })} data-testid="add-override">
            + Add override
          </button>
        </div>
      </fieldset>
      {alreadyQuantized && (
        <p className="warn-text" data-testid="quantize-requantize-note">
          This model is already quantized: quantizing it again adds the new error on top of the old one.
        </p>
      )}
    </section>
  );
}

/** The settings as options, and the plan made for exactly these settings (undefined while it is being made). */
function useCurrentPlan(model: ModelView): { parsed: ParsedForm; optionsKey: string | null; plan: PlanResult | undefined } {
  const form = usePlayground((s) => s.quantizeForm);
  const parsed = useMemo(() => parseQuantizeForm(form), [form]);
  const optionsKey = parsed.ok ? optionsKeyOf(parsed.options) : null;
  const plan = usePlayground((s) => s.quantizePlans[model.id]);
  return { parsed, optionsKey, plan: plan?.optionsKey === optionsKey ? plan : undefined };
}

function PlanCard({ model }: { model: ModelView }) {
  const { parsed, optionsKey, plan: result } = useCurrentPlan(model);
  const planQuantization = usePlayground((s) => s.planQuantization);

  useEffect(() => {
    if (!parsed.ok) return;
    const timer = setTimeout(() => void planQuantization(model.id, parsed.options), PLAN_DELAY_MS);
    return () => clearTimeout(timer);
    // The options are compared by value (optionsKey): a new form object with the same settings plans nothing new.
  }, [model.id, optionsKey, planQuantization]);

  return (
    <section className="card quantize-plan" data-testid="quantize-plan">
      <h2>Plan</h2>
      {!parsed.ok ? (
        <p className="error-text" data-testid="quantize-invalid">{parsed.error}</p>
      ) : result?.status === 'error' ? (
        <p className="error-text" data-testid="quantize-invalid">{result.message}</p>
      ) : result?.status !== 'done' ? (
        <p className="busy"><span className="spinner" aria-hidden="true" /> Planning…</p>
      ) : (
        <>
          <dl className="fields plan-summary">
            <div className="field">
              <dt>Estimated file size</dt>
              <dd data-testid="plan-size" title={`about ${exact(result.plan.estimatedFileBytes)} bytes`}>≈ {humanBytes(result.plan.estimatedFileBytes)}</dd>
            </div>
            <div className="field">
              <dt>Bits per weight</dt>
              <dd data-testid="plan-bpw">{result.plan.bitsPerWeight.toFixed(2)}</dd>
            </div>
            <div className="field">
              <dt>From</dt>
              <dd>{humanBytes(model.summary.fileSize)} ({model.summary.bitsPerWeight.toFixed(2)} bpw)</dd>
            </div>
          </dl>
          <div className="plan-table-scroll">
            <table className="data-table plan-table" data-testid="plan-table">
              <thead>
                <tr>
                  <th>Tensor</th>
                  <th>Shape</th>
                  <th>From</th>
                  <th>To</th>
                  <th>Why</th>
                </tr>
              </thead>
              <tbody>
                {result.plan.tensors.map((t) => (
                  <tr key={t.name} data-testid="plan-row" className={t.from === t.to ? 'unchanged' : ''}>
                    <td className="mono" data-testid="plan-tensor">{t.name}</td>
                    <td className="mono">{shapeText(t.shape)}</td>
                    <td className="mono">{t.from}</td>
                    <td className="mono" data-testid="plan-to">{t.to}</td>
                    <td className="muted">{t.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function QuantizeRunCard({ model }: { model: ModelView }) {
  const { parsed, plan } = useCurrentPlan(model);
  const run = usePlayground((s) => s.quantizeRun);
  const { startQuantization, cancelQuantization } = usePlayground.getState();
  const running = run?.status === 'running';
  const canRun = parsed.ok && plan?.status === 'done' && !running;
  const ownRun = run?.sourceId === model.id ? run : null;

  return (
    <section className="card quantize-run" data-testid="quantize-run">
      <div className="run-actions">
        <button type="button" className="button primary" disabled={!canRun} onClick={() => void startQuantization(model.id)} data-testid="quantize-start">
          Quantize to {parsed.ok ? variantFileName(model.name, parsed.options.recipe) : '…'}
        </button>
        {running && run.sourceId !== model.id && <span className="muted">Another model is being quantized.</span>}
      </div>
      {ownRun && <RunStatus run={ownRun} onCancel={cancelQuantization} />}
    </section>
  );
}

function RunStatus({ run, onCancel }: { run: QuantizeRun; onCancel: () => void }) {
  const variant = usePlayground((s) => (run.status === 'done' ? s.variants[run.variantId] : undefined));
  const selectModel = usePlayground((s) => s.selectModel);
  switch (run.status) {
    case 'running': {
      const figures = run.progress ? progressFigures(run.progress) : null;
      return (
        <div className="run-status" data-testid="quantize-progress">
          <div className="progress-line">
            <progress max={1} value={figures?.fraction ?? 0} aria-label={`Quantizing ${run.fileName}`} />
            <button type="button" className="button" onClick={onCancel} disabled={run.cancelling} data-testid="quantize-cancel">
              {run.cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          </div>
          <p className="muted progress-figures">
            {figures ? (
              <>
                <span data-testid="progress-tensors">{figures.tensors}</span> · {figures.rate} · {figures.timeLeft}
                {run.progress && <span className="mono current-tensor"> · {run.progress.currentTensor}</span>}
              </>
            ) : (
              'Starting…'
            )}
          </p>
        </div>
      );
    }
    case 'done':
      if (!variant) return <p className="muted" data-testid="quantize-done">{run.fileName} was closed.</p>;
      return (
        <div className="run-status run-done" data-testid="quantize-done">
          <p>
            Wrote <strong className="mono">{run.fileName}</strong> ({humanBytes(variant.file.size)}
            {run.storage === 'memory' ? ', kept in memory: this browser offers no file storage' : ''}).
          </p>
          <p className="muted" data-testid="quantize-engine">Quantized with {run.engine}.</p>
          <div className="run-actions">
            <button type="button" className="button" onClick={() => selectModel(run.variantId)} data-testid="quantize-show-variant">Inspect it</button>
            <DownloadLink file={variant.file} />
          </div>
        </div>
      );
    case 'cancelled':
      return <p className="muted" data-testid="quantize-cancelled">Cancelled: nothing was kept of {run.fileName}.</p>;
    case 'error':
      return <p className="error-text" data-testid="quantize-error">Quantizing failed: {run.message}</p>;
  }
}
