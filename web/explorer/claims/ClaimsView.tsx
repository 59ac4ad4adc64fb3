/**
 * The "Why CNNs work" tab: one panel per claim, each computing its numbers with the library inside an engine
 * worker. Seeded and briefly trained models live in this tab's own engine (a second EngineClient, started the
 * first time a panel needs it), so the Train tab's model is never disturbed; panels that look at the user's
 * trained model ask the main engine.
 */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef } from 'preact/hooks';
import { EngineClient } from '../client.js';
import './claims.css';
import { LedgerPanel } from './LedgerPanel.js';
import { EquivariancePanel } from './EquivariancePanel.js';
import { PoolingPanel } from './PoolingPanel.js';
import { ShufflePanel } from './ShufflePanel.js';
import { HierarchyPanel } from './HierarchyPanel.js';
import { DepthPanel } from './DepthPanel.js';

/** The claims tab's own engine, started on first use and ready (backend chosen) when the promise resolves. */
export type ClaimsEngine = () => Promise<EngineClient>;

const ClaimsEngineContext = createContext<ClaimsEngine | null>(null);

export function useClaimsEngine(): ClaimsEngine {
  const engine = useContext(ClaimsEngineContext);
  if (!engine) throw new Error('explorer: a claims panel was rendered outside <ClaimsView>');
  return engine;
}

export function ClaimsView(_props: { active?: boolean }) {
  const started = useRef<Promise<EngineClient> | null>(null);
  useEffect(() => () => { void started.current?.then((c) => c.terminate()); }, []);
  const engine = useCallback<ClaimsEngine>(() => {
    started.current ??= (async () => {
      const client = new EngineClient();
      const isolated = globalThis.crossOriginIsolated === true;
      // Two threads at most: this engine shares the cores with the main one (which may be training).
      await client.call('engine.init', { backend: 'wasm', threads: isolated ? Math.min(2, navigator.hardwareConcurrency || 1) : 1 });
      return client;
    })();
    started.current.catch(() => { started.current = null; });
    return started.current;
  }, []);

  return (
    <ClaimsEngineContext.Provider value={engine}>
      <div id="claims">
        <p class="claims-intro">
          Six claims from the textbooks about why convolutional networks suit images, each measured here with the
          same library code as <code>convkit lab</code> (results of the full runs: <code>lab/LAB.md</code>). Open a
          panel to run it; long runs can be stopped. They run in a separate engine, so your model in the Train tab is
          never changed.
        </p>
        <LedgerPanel />
        <EquivariancePanel />
        <PoolingPanel />
        <ShufflePanel />
        <HierarchyPanel />
        <DepthPanel />
      </div>
    </ClaimsEngineContext.Provider>
  );
}
