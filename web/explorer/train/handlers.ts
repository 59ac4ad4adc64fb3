/** Handlers of the explorer's train requests (declared in ./protocol.ts). */
import type { Handlers } from '../worker.js';
import type { TrainRequests } from './protocol.js';

export const trainHandlers: Handlers<keyof TrainRequests> = {};
