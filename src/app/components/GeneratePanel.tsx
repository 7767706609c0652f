// The Generate tab: load the model into the generate worker (backend, threads,
// context length; progress and cancel), sampling settings, a prompt or a chat, and
// the streamed output with its stats. All model work happens in the worker; this
// component only shows the store's state.

import { useState, type KeyboardEvent } from 'react';
import type { BackendChoice } from '../../backend/create-backend';
import type { ModelView } from '../../formats/model';
import type { ChatMessage } from '../../tokenizer';
import type { LoadedModel } from '../../worker/generate.worker';
import { exact } from '../format';
import { effectiveMode, parseContextLength, parseRunSettings, threadChoices, type GenerateForm } from '../generate-form';
import { loadFraction, loadProgressText, memoryText, runFigures, stopReasonText } from '../generate-stats';
import { usePlayground, type GenerateRun, type GenerateRuntime } from '../store';
import { ConvertButton } from './QuantizePanel';

/** The conversation belongs to the loaded model; other models show none (one constant, so the selector's answer is stable). */
const NO_MESSAGES: ChatMessage[] = [];
const useConversation = (model: ModelView) => usePlayground((s) => (s.generateRuntime?.modelId === model.id ? s.conversation : NO_MESSAGES));

const BACKENDS: { id: BackendChoice; label: string }[] = [
  { id: 'auto', label: 'Auto (hardware GPU, else WASM)' },
  { id: 'webgpu', label: 'WebGPU' },
  { id: 'wasm', label: 'WASM SIMD (CPU)' },
];

export function GeneratePanel({ model }: { model: ModelView }) {
  const runnable = usePlayground((s) => s.modelSources[model.id] !== undefined);
  if (model.format !== 'gguf') return <NeedsGguf model={model} />;
  if (!runnable) return <p className="error-text card">The file of this model is no longer available: open it again to run it.</p>;
  return (
    <div className="generate">
      <div className="generate-side">
        <RuntimeCard model={model} />
        <SamplingCard model={model} />
      </div>
      <div className="generate-main">
        <PromptCard model={model} />
        <OutputCard model={model} />
      </div>
    </div>
  );
}

/** A safetensors model runs once converted to GGUF; conversions made already are offered. */
function NeedsGguf({ model }: { model: ModelView }) {
  const variants = usePlayground((s) => s.variants);
  const models = usePlayground((s) => s.models);
  const selectModel = usePlayground((s) => s.selectModel);
  const run = usePlayground((s) => (s.quantizeRun?.sourceId === model.id ? s.quantizeRun : null));
  const converted = models.filter((m) => variants[m.id]?.sourceId === model.id);
  return (
    <section className="card generate-needs-gguf" data-testid="generate-needs-gguf">
      <h2>Convert to GGUF first</h2>
      <p>This is a Hugging Face safetensors model: the runtime runs GGUF files. Convert it here (F16, as llama.cpp&apos;s converter does), then run the result.</p>
      <div className="run-actions">
        <ConvertButton model={model} />
        {run?.status === 'running' && <span className="busy"><span className="spinner" aria-hidden="true" /> Converting… (progress in the Quantize tab)</span>}
      </div>
      {run?.status === 'error' && <p className="error-text" data-testid="generate-convert-error">Converting failed: {run.message}</p>}
      {converted.length > 0 && (
        <ul className="generate-variants">
          {converted.map((m) => (
            <li key={m.id}>
              <button type="button" className="link" onClick={() => selectModel(m.id)} data-testid="generate-open-variant">Run {m.name}</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function useForm(): [GenerateForm, (patch: Partial<GenerateForm>) => void] {
  return [usePlayground((s) => s.generateForm), usePlayground((s) => s.setGenerateForm)];
}

/** Whether the runtime holds this model, loaded with these settings. */
function sameSettings(runtime: GenerateRuntime, form: GenerateForm, nCtx: number | null): boolean {
  return runtime.settings.backend === form.backend && runtime.settings.threads === form.threads && runtime.settings.nCtx === nCtx;
}

function RuntimeCard({ model }: { model: ModelView }) {
  const [form, update] = useForm();
  const runtime = usePlayground((s) => s.generateRuntime);
  const running = usePlayground((s) => s.generateRun?.status === 'running');
  const loadedName = usePlayground((s) => s.models.find((m) => m.id === s.generateRuntime?.modelId)?.name);
  const { loadForGeneration, cancelLoad } = usePlayground.getState();
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = threadChoices(navigator.hardwareConcurrency ?? 1, isolated);
  const trainingContext = model.summary.contextLength;
  const nCtx = parseContextLength(form.contextLength, trainingContext);
  const defaultContext = parseContextLength('', trainingContext);
  const own = runtime?.modelId === model.id ? runtime : null;
  const loading = runtime?.status === 'loading';
  const upToDate = own?.status === 'ready' && sameSettings(own, form, nCtx.ok ? nCtx.value : null);

  return (
    <section className="card generate-runtime" data-testid="generate-runtime">
      <h2>Runtime</h2>
      <fieldset className="generate-fields" disabled={loading || running}>
        <label className="form-field">
          <span>Backend</span>
          <select value={form.backend} onChange={(e) => update({ backend: e.target.value as BackendChoice })} data-testid="generate-backend">
            {BACKENDS.map((b) => <option key={b.id} value={b.id}>{b.label}</option>)}
          </select>
        </label>
        <label className="form-field">
          <span>WASM threads</span>
          <select value={form.threads} onChange={(e) => update({ threads: Number(e.target.value) })} disabled={threads.length === 1} data-testid="generate-threads">
            {threads.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        {!isolated && <p className="muted note">One thread: several need shared memory, which this page only has when cross-origin isolated.</p>}
        <label className="form-field">
          <span>Context length (tokens)</span>
          <input
            inputMode="numeric"
            placeholder={defaultContext.ok ? String(defaultContext.value) : ''}
            value={form.contextLength}
            onChange={(e) => update({ contextLength: e.target.value })}
            data-testid="generate-context"
          />
        </label>
        {trainingContext !== null && <p className="muted note">Trained on {exact(trainingContext)} tokens.</p>}
      </fieldset>
      {!nCtx.ok && <p className="error-text" data-testid="generate-load-invalid">{nCtx.error}</p>}

      <div className="run-actions">
        {own?.status === 'loading' ? (
          <button type="button" className="button" onClick={cancelLoad} disabled={own.cancelling} data-testid="generate-load-cancel">
            {own.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : (
          <button type="button" className={upToDate ? 'button' : 'button primary'} disabled={!nCtx.ok || loading || running || upToDate} onClick={() => void loadForGeneration(model.id)} data-testid="generate-load">
            {own?.status === 'ready' ? (upToDate ? 'Loaded' : 'Reload with these settings') : `Load ${model.name}`}
          </button>
        )}
      </div>
      {runtime && !own && runtime.status !== 'error' && loadedName && (
        <p className="muted note">{loadedName} is {runtime.status === 'loading' ? 'loading' : 'loaded'}; loading this model replaces it.</p>
      )}
      {own && <RuntimeStatus runtime={own} />}
    </section>
  );
}

function RuntimeStatus({ runtime }: { runtime: GenerateRuntime }) {
  switch (runtime.status) {
    case 'loading':
      return (
        <div className="run-status" data-testid="generate-load-progress">
          <progress max={1} value={runtime.progress ? loadFraction(runtime.progress) : 0} aria-label="Loading weights" />
          <p className="muted progress-figures">{runtime.progress ? loadProgressText(runtime.progress) : 'Reading the model…'}</p>
        </div>
      );
    case 'ready':
      return (
        <dl className="generate-loaded" data-testid="generate-loaded">
          <dt>Backend</dt>
          <dd data-testid="generate-loaded-backend">{runtime.model.backend}</dd>
          <dt>Memory</dt>
          <dd data-testid="generate-loaded-memory">{memoryText(runtime.model)}</dd>
          <dt>Context</dt>
          <dd>{exact(runtime.model.nCtx)} tokens</dd>
        </dl>
      );
    case 'error':
      return <p className="error-text" data-testid="generate-load-error">{runtime.message}</p>;
  }
}

function SamplingCard({ model }: { model: ModelView }) {
  const [form, update] = useForm();
  const running = usePlayground((s) => s.generateRun?.status === 'running');
  const hasTemplate = model.summary.hasChatTemplate;
  const settings = parseRunSettings(form, () => 0);
  const number = (key: 'temperature' | 'topK' | 'topP' | 'minP' | 'repeatPenalty' | 'seed' | 'maxTokens', label: string, title: string, disabled = false) => (
    <label className="form-field" title={title}>
      <span>{label}</span>
      <input inputMode="decimal" value={form[key]} disabled={disabled} onChange={(e) => update({ [key]: e.target.value })} data-testid={`generate-${key}`} />
    </label>
  );

  return (
    <section className="card generate-sampling" data-testid="generate-sampling">
      <h2>Settings</h2>
      <fieldset className="generate-fields" disabled={running}>
        <div className="form-field">
          <span>Mode</span>
          <div className="segmented" role="radiogroup">
            <label className="form-check">
              <input type="radio" name="generate-mode" checked={effectiveMode(form.mode, hasTemplate) === 'prompt'} onChange={() => update({ mode: 'prompt' })} data-testid="generate-mode-prompt" />
              <span>Prompt</span>
            </label>
            <label className="form-check">
              <input type="radio" name="generate-mode" checked={effectiveMode(form.mode, hasTemplate) === 'chat'} disabled={!hasTemplate} onChange={() => update({ mode: 'chat' })} data-testid="generate-mode-chat" />
              <span>Chat</span>
            </label>
          </div>
        </div>
        {!hasTemplate && <p className="muted note" data-testid="generate-no-template">Chat needs a chat template, and this model has none.</p>}
        <label className="form-check" title="Always take the most likely token (temperature 0)">
          <input type="checkbox" checked={form.greedy} onChange={(e) => update({ greedy: e.target.checked })} data-testid="generate-greedy" />
          <span>Greedy</span>
        </label>
        <div className="generate-grid">
          {number('temperature', 'Temperature', 'Higher is more random; 0 is greedy', form.greedy)}
          {number('topK', 'Top-k', 'Keep the k most likely tokens (0 keeps all)', form.greedy)}
          {number('topP', 'Top-p', 'Keep the most likely tokens up to this total probability', form.greedy)}
          {number('minP', 'Min-p', 'Drop tokens less likely than this share of the most likely one', form.greedy)}
          {number('repeatPenalty', 'Repetition penalty', 'Penalizes the last 64 tokens; 1 turns it off')}
          <label className="form-field" title="Empty: a new random seed for each run">
            <span>Seed</span>
            <input inputMode="numeric" placeholder="random" value={form.seed} disabled={form.greedy} onChange={(e) => update({ seed: e.target.value })} data-testid="generate-seed" />
          </label>
          {number('maxTokens', 'Max tokens', 'Tokens to generate at most')}
        </div>
        <label className="form-field" title="The output ends before the first stop string; one per line, \n is a newline">
          <span>Stop strings (one per line, \n for a newline)</span>
          <textarea rows={2} className="mono" value={form.stopStrings} onChange={(e) => update({ stopStrings: e.target.value })} data-testid="generate-stop-strings" />
        </label>
      </fieldset>
      {!settings.ok && <p className="error-text" data-testid="generate-invalid">{settings.error}</p>}
    </section>
  );
}

function PromptCard({ model }: { model: ModelView }) {
  const [form, update] = useForm();
  const runtime = usePlayground((s) => s.generateRuntime);
  const run = usePlayground((s) => s.generateRun);
  const conversation = useConversation(model);
  const { runGeneration, stopGeneration, clearConversation } = usePlayground.getState();
  const mode = effectiveMode(form.mode, model.summary.hasChatTemplate);
  const running = run?.status === 'running';
  const ready = runtime?.status === 'ready' && runtime.modelId === model.id;
  const valid = parseRunSettings(form, () => 0).ok && (mode === 'prompt' || form.prompt.trim() !== '');
  const canRun = ready && valid && !running;
  const runOnCtrlEnter = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && canRun) {
      e.preventDefault();
      void runGeneration();
    }
  };

  return (
    <section className="card generate-prompt" data-testid="generate-prompt-card">
      {mode === 'chat' && (
        <label className="form-field">
          <span>System message (optional)</span>
          <input value={form.systemPrompt} disabled={running || conversation.length > 0} onChange={(e) => update({ systemPrompt: e.target.value })} data-testid="generate-system" />
        </label>
      )}
      <label className="form-field">
        <span>{mode === 'chat' ? 'Message' : 'Prompt'}</span>
        <textarea rows={4} value={form.prompt} onChange={(e) => update({ prompt: e.target.value })} onKeyDown={runOnCtrlEnter} data-testid="generate-prompt" />
      </label>
      <div className="run-actions">
        <button type="button" className="button primary" disabled={!canRun} onClick={() => void runGeneration()} data-testid="generate-run" title="Ctrl+Enter">
          {mode === 'chat' ? 'Send' : 'Run'}
        </button>
        {running && (
          <button type="button" className="button" onClick={stopGeneration} disabled={run.stopping} data-testid="generate-stop">
            {run.stopping ? 'Stopping…' : 'Stop'}
          </button>
        )}
        {mode === 'chat' && conversation.length > 0 && (
          <button type="button" className="button" disabled={running} onClick={clearConversation} data-testid="generate-clear">
            New chat
          </button>
        )}
        {!ready && <span className="muted">Load the model to run it.</span>}
      </div>
    </section>
  );
}

function OutputCard({ model }: { model: ModelView }) {
  const run = usePlayground((s) => (s.generateRun?.modelId === model.id ? s.generateRun : null));
  const runtime = usePlayground((s) => s.generateRuntime);
  const conversation = useConversation(model);
  const [showTokens, setShowTokens] = useState(false);
  if (!run && conversation.length === 0) return null;
  const loaded = runtime?.status === 'ready' && runtime.modelId === model.id ? runtime.model : null;
  // A finished chat reply is part of the conversation; only a reply in progress is shown from the run.
  const streamingReply = run?.mode === 'chat' && run.status === 'running';

  return (
    <section className="card generate-output-card">
      <div
        className="generate-output"
        data-testid="generate-output"
        data-status={run?.status ?? 'idle'}
        data-stopped={run?.result?.stopped ?? ''}
        data-token-ids={run ? run.tokens.join(',') : ''}
        aria-live="polite"
      >
        {run?.mode === 'prompt' ? (
          <p className="generate-text">
            <span className="prompt-echo">{run.prompt}</span>
            <span data-testid="generate-output-text">{run.text}</span>
            {run.status === 'running' && <span className="caret" aria-hidden="true" />}
          </p>
        ) : (
          <ol className="chat-log">
            {conversation.map((m, i) => (
              <li key={i} className={`chat-message ${m.role}`} data-testid="chat-message">
                <span className="chat-role">{m.role}</span>
                <p className="generate-text">{m.content}</p>
              </li>
            ))}
            {streamingReply && (
              <li className="chat-message assistant" data-testid="chat-message">
                <span className="chat-role">assistant</span>
                <p className="generate-text">
                  <span data-testid="generate-output-text">{run.text}</span>
                  <span className="caret" aria-hidden="true" />
                </p>
              </li>
            )}
          </ol>
        )}
      </div>
      {run && <RunStats run={run} loaded={loaded} showTokens={showTokens} onToggleTokens={() => setShowTokens((v) => !v)} />}
    </section>
  );
}

interface RunStatsProps {
  run: GenerateRun;
  /** The model the run used, while it is still loaded. */
  loaded: LoadedModel | null;
  showTokens: boolean;
  onToggleTokens: () => void;
}

function RunStats({ run, loaded, showTokens, onToggleTokens }: RunStatsProps) {
  if (run.status === 'error') return <p className="error-text" data-testid="generate-error">{run.message}</p>;
  if (run.status === 'running' || !run.result) {
    return <p className="muted generate-live" data-testid="generate-live">{exact(run.tokens.length)} tokens…</p>;
  }
  return (
    <>
      <p className="generate-stopped" data-testid="generate-stopped" data-reason={run.result.stopped}>
        Stopped: {stopReasonText(run.result.stopped)}.{' '}
        <button type="button" className="link" onClick={onToggleTokens} data-testid="generate-show-tokens">{showTokens ? 'Hide' : 'Show'} token ids</button>
      </p>
      {showTokens && <p className="mono muted generate-token-ids">{run.tokens.join(' ')}</p>}
      {loaded && (
        <dl className="fields generate-stats" data-testid="generate-stats">
          {runFigures(run.result.timing, loaded, run.seed).map((f) => (
            <div key={f.testId} className="field">
              <dt>{f.label}</dt>
              <dd data-testid={f.testId}>{f.value}</dd>
            </div>
          ))}
        </dl>
      )}
    </>
  );
}
