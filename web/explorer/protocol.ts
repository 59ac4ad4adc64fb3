/**
 * The explorer's one message contract between the page (main thread) and its engine worker.
 *
 * The page never trains or runs a model itself: a dedicated Web Worker (engine/worker.ts) owns the backend, the
 * data and the model, so the page stays responsive however heavy the work. The page sends requests
 * (`{ id, name, params }`) and gets one answer per request (`{ id, result }` or `{ id, error }`); the worker also
 * pushes events (`{ event, payload }`) such as training progress.
 *
 * Each area of the explorer declares its requests and events in its own folder (train/, inspect/, claims/,
 * models/) and they are merged here, so adding a request is one entry in its area's protocol file plus its
 * handler in the area's handlers file.
 */
import type { EngineRequests, EngineEvents } from './engine/protocol.js';
import type { TrainRequests, TrainEvents } from './train/protocol.js';
import type { InspectRequests, InspectEvents } from './inspect/protocol.js';
import type { ClaimsRequests, ClaimsEvents } from './claims/protocol.js';
import type { ModelsRequests, ModelsEvents } from './models/protocol.js';

/** Every request the worker answers: name -> { params, result }. */
export interface Requests extends EngineRequests, TrainRequests, InspectRequests, ClaimsRequests, ModelsRequests {}
/** Every event the worker pushes: name -> payload. */
export interface Events extends EngineEvents, TrainEvents, InspectEvents, ClaimsEvents, ModelsEvents {}

export type RequestName = keyof Requests;
export type EventName = keyof Events;
export type Params<N extends RequestName> = Requests[N] extends { params: infer P } ? P : never;
export type Result<N extends RequestName> = Requests[N] extends { result: infer R } ? R : never;

export interface RequestMessage<N extends RequestName = RequestName> { id: number; name: N; params: Params<N> }
export type ReplyMessage =
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string } };
export interface EventMessage<E extends EventName = EventName> { event: E; payload: Events[E] }
