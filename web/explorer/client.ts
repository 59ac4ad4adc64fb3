/**
 * The page's side of the engine: `EngineClient` starts the worker and turns requests into promises and pushed
 * events into callbacks. Several clients may run at once (each its own worker and model), e.g. the pixel-shuffle
 * claim trains an MLP and a CNN side by side.
 */
import type { EventMessage, EventName, Events, Params, ReplyMessage, RequestName, Result } from './protocol.js';

/** An error thrown inside the worker, with the worker's name and message. */
export class EngineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();
  /** Resolves when the worker says it is ready: a module worker drops messages sent while it still loads. */
  private readonly started: Promise<void>;

  /** `workerUrl`: the worker bundle (explorer-worker.js beside the page's bundle). */
  constructor(workerUrl: URL = new URL('./explorer-worker.js', import.meta.url)) {
    this.worker = new Worker(workerUrl, { type: 'module', name: 'convkit-engine' });
    let markStarted!: () => void;
    this.started = new Promise((resolve) => { markStarted = resolve; });
    this.on('engine.ready', () => markStarted());
    this.worker.onmessage = (e: MessageEvent) => {
      const message = e.data as ReplyMessage | EventMessage;
      if ('event' in message) {
        for (const listener of this.listeners.get(message.event) ?? []) (listener as (p: unknown) => void)(message.payload);
        return;
      }
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if ('error' in message) waiting.reject(new EngineError(message.error.name, message.error.message));
      else waiting.resolve(message.result);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      const error = new EngineError('WorkerError', `the engine worker failed: ${e.message || 'could not start (see the console)'}`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
      // An error with no request waiting (a kernel thread of the engine died) must not pass unseen.
      for (const listener of this.crashListeners) listener(error);
    };
  }

  private readonly crashListeners = new Set<(error: EngineError) => void>();

  /** Called when the worker reports an uncaught error (whether or not a request was waiting). */
  onCrash(listener: (error: EngineError) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** Send a request; resolves with the worker's result or rejects with an EngineError. */
  call<N extends RequestName>(name: N, params: Params<N>, transfer: Transferable[] = []): Promise<Result<N>> {
    const id = this.nextId++;
    return new Promise<Result<N>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      void this.started.then(() => this.worker.postMessage({ id, name, params }, transfer));
    });
  }

  /** Listen to an event; returns the function that stops listening. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set!.delete(listener as (payload: never) => void);
  }

  terminate(): void {
    this.worker.terminate();
    const error = new EngineError('WorkerTerminated', 'the engine worker was stopped');
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
