/**
 * The explorer's page: tabs over one engine worker (client.ts). Each tab is a view from its area's folder.
 * Exposes `window.convkitExplorer` (the app state) for the browser tests.
 */
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { AppContext, type AppState, type TabId } from './app.js';
import { EngineClient } from './client.js';
import type { EngineInfo, InputSample, ModelInfo } from './engine/protocol.js';
import { TrainView } from './train/TrainView.js';
import { InputView } from './inspect/InputView.js';
import { InsideView } from './inspect/InsideView.js';
import { ClaimsView } from './claims/ClaimsView.js';
import { ModelsView } from './models/ModelsView.js';

const TABS: { id: TabId; label: string }[] = [
  { id: 'train', label: 'Train' },
  { id: 'input', label: 'Your input' },
  { id: 'inside', label: 'Inside the model' },
  { id: 'claims', label: 'Why CNNs work' },
  { id: 'models', label: 'Models in and out' },
];

function App({ client }: { client: EngineClient }) {
  const [engine, setEngine] = useState<EngineInfo | null>(null);
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [training, setTraining] = useState(false);
  const [input, setInput] = useState<InputSample | null>(null);
  const [status, setStatus] = useState('starting the engine...');
  const [tab, setTab] = useState<TabId>(() => (TABS.find((t) => `#${t.id}` === location.hash)?.id ?? 'train'));

  const initEngine = useCallback(async (backend: 'wasm' | 'reference', threads: number) => {
    const info = await client.call('engine.init', { backend, threads });
    setEngine(info);
    return info;
  }, [client]);

  useEffect(() => {
    const isolated = globalThis.crossOriginIsolated === true;
    const cores = navigator.hardwareConcurrency || 1;
    initEngine('wasm', isolated ? Math.min(cores, 4) : 1).then(
      (info) => { setStatus(`engine ready: ${info.backend}`); document.body.dataset.engine = 'ready'; },
      (e: Error) => { setStatus(`the engine failed to start: ${e.message}`); document.body.dataset.error = e.message; },
    );
    const stopCrash = client.onCrash((e) => { setStatus(e.message); document.body.dataset.engineError = e.message; });
    const stopLog = client.on('engine.log', ({ message }) => setStatus(message));
    return () => { stopCrash(); stopLog(); };
  }, [client, initEngine]);

  const showTab = useCallback((id: TabId) => {
    setTab(id);
    history.replaceState(null, '', `#${id}`);
  }, []);

  const app: AppState = useMemo(() => ({
    client, engine, initEngine, model, setModel, training, setTraining, input, setInput, setStatus, showTab,
  }), [client, engine, initEngine, model, training, input, showTab]);
  (globalThis as { convkitExplorer?: AppState }).convkitExplorer = app;

  return (
    <AppContext.Provider value={app}>
      <header class="top">
        <h1>convkit explorer</h1>
        <p class="tagline">Train a CNN in your browser, then look inside it and test why CNNs work on images.</p>
        <p id="status" role="status" aria-live="polite">{status}</p>
        {engine?.threadNote && <p id="thread-note" class="note">{engine.threadNote}</p>}
        <nav role="tablist" aria-label="Explorer sections">
          {TABS.map((t) => (
            <button key={t.id} id={`tab-${t.id}`} role="tab" aria-selected={tab === t.id} aria-controls={`panel-${t.id}`}
              class={tab === t.id ? 'tab active' : 'tab'} onClick={() => showTab(t.id)}>{t.label}</button>
          ))}
        </nav>
      </header>
      <main>
        {/* Every panel stays mounted (hidden when not selected) so live training and drawings survive a tab switch. */}
        {TABS.map((t) => (
          <section key={t.id} id={`panel-${t.id}`} role="tabpanel" aria-labelledby={`tab-${t.id}`} hidden={tab !== t.id}>
            {t.id === 'train' && <TrainView />}
            {t.id === 'input' && <InputView active={tab === 'input'} />}
            {t.id === 'inside' && <InsideView active={tab === 'inside'} />}
            {t.id === 'claims' && <ClaimsView active={tab === 'claims'} />}
            {t.id === 'models' && <ModelsView active={tab === 'models'} />}
          </section>
        ))}
      </main>
    </AppContext.Provider>
  );
}

const root = document.getElementById('app');
if (root) {
  document.getElementById('boot')?.remove();
  render(<App client={new EngineClient()} />, root);
}
