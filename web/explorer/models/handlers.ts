/** Handlers of the explorer's models requests (declared in ./protocol.ts). */
import type { Handlers } from '../worker.js';
import type { ModelsRequests } from './protocol.js';

export const modelsHandlers: Handlers<keyof ModelsRequests> = {};
