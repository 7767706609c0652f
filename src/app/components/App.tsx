// Page layout: header with the file dialogs, the model list on the side, and
// the inspector for the selected model. The whole window accepts drops.

import { usePlayground, useSelectedModel } from '../store';
import { DropOverlay } from './DropOverlay';
import { ModelInspector } from './ModelInspector';
import { OpenButtons } from './OpenButtons';
import { Sidebar } from './Sidebar';

export function App() {
  const model = useSelectedModel();
  const busy = usePlayground((s) => s.pending.length > 0);
  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="logo" aria-hidden="true">◈</span>
          <span className="title">QuantScope</span>
          <span className="tagline">LLM files, inspected in your browser — nothing is uploaded</span>
        </div>
        <OpenButtons />
      </header>
      <Sidebar />
      <main className="main" aria-busy={busy}>
        {model ? (
          <ModelInspector key={model.id} model={model} />
        ) : (
          <div className="empty-state" data-testid="empty-state">
            {busy ? (
              <p className="busy">
                <span className="spinner" aria-hidden="true" /> Reading model…
              </p>
            ) : (
              <>
                <p className="empty-title">Drop a model anywhere on this page</p>
                <p className="muted">.gguf files, or .safetensors with config.json, tokenizer.json, tokenizer_config.json — or a whole folder.</p>
              </>
            )}
          </div>
        )}
      </main>
      <DropOverlay />
    </div>
  );
}
