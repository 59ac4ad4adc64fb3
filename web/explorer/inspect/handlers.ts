/** Handlers of the explorer's inspect requests (declared in ./protocol.ts). */
import type { Handlers } from '../worker.js';
import type { InspectRequests } from './protocol.js';

export const inspectHandlers: Handlers<keyof InspectRequests> = {};
