/** The page-wide state every view reads: the engine, its current model, the input being looked at. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { EngineClient } from './client.js';
import type { EngineInfo, InputSample, ModelInfo } from './engine/protocol.js';

export interface AppState {
  client: EngineClient;
  engine: EngineInfo | null;
  /** Re-select backend and threads (the Train tab's controls). */
  initEngine(backend: 'wasm' | 'reference', threads: number): Promise<EngineInfo>;
  model: ModelInfo | null;
  setModel(model: ModelInfo | null): void;
  /** True while a training run is going (views that query the model may wait or mark results as live). */
  training: boolean;
  setTraining(training: boolean): void;
  /** The input the Input and Inside views show (drawing, upload or a test image). */
  input: InputSample | null;
  setInput(input: InputSample | null): void;
  /** A message for the status bar. */
  setStatus(message: string): void;
  /** Switch tab by id. */
  showTab(id: TabId): void;
}

export type TabId = 'train' | 'input' | 'inside' | 'claims' | 'models';

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const app = useContext(AppContext);
  if (!app) throw new Error('explorer: a view was rendered outside <AppContext.Provider>');
  return app;
}
