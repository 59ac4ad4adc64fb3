/**
 * The explorer's engine: a dedicated module Web Worker that owns the backend, the data and the model and answers
 * the page's requests (protocol.ts). Training here never freezes the page; a Stop request is read between two
 * training steps (fit() yields to the event loop every few tens of milliseconds).
 *
 * Each area registers its handlers in its own file; this file only dispatches.
 */
import type { EngineState } from './engine/state.js';
import { Transfer } from './engine/state.js';
import type { EventMessage, Events, EventName, Params, ReplyMessage, RequestMessage, RequestName, Result } from './protocol.js';
import { getBackend } from '../../src/index.js';
import { engineHandlers } from './engine/handlers.js';
import { trainHandlers } from './train/handlers.js';
import { inspectHandlers } from './inspect/handlers.js';
import { claimsHandlers } from './claims/handlers.js';
import { modelsHandlers } from './models/handlers.js';

/** A table of handlers for some requests: each gets its params and the worker's state. */
export type Handlers<N extends RequestName> = {
  [K in N]: (params: Params<K>, state: EngineState) => Promise<Result<K> | Transfer<Result<K>>> | Result<K> | Transfer<Result<K>>;
};

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

const state: EngineState = {
  info: null,
  data: null,
  model: null,
  training: null,
  emit<E extends EventName>(event: E, payload: Events[E], transfer: Transferable[] = []) {
    const message: EventMessage<E> = { event, payload };
    scope.postMessage(message, transfer);
  },
};

const handlers = { ...engineHandlers, ...trainHandlers, ...inspectHandlers, ...claimsHandlers, ...modelsHandlers } as Record<
  string, (params: unknown, state: EngineState) => unknown
>;

scope.onmessage = async (event: MessageEvent) => {
  const request = event.data as RequestMessage;
  let reply: ReplyMessage;
  let transfer: Transferable[] = [];
  try {
    const handler = handlers[request.name];
    if (!handler) throw new Error(`the explorer's engine has no request named '${String(request.name)}'`);
    let result = await handler(request.params, state);
    if (result instanceof Transfer) {
      transfer = result.transfer;
      result = result.value;
    }
    reply = { id: request.id, result };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    reply = { id: request.id, error: { name: error.name, message: error.message } };
  }
  scope.postMessage(reply, transfer);
};

// Messages posted to a module worker while its top-level awaits run (the library picks its backend at load) are
// dropped, so the page waits for this before sending anything (client.ts).
state.emit('engine.ready', { backend: getBackend().name });
