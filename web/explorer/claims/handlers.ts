/** Handlers of the explorer's claims requests (declared in ./protocol.ts). */
import type { Handlers } from '../worker.js';
import type { ClaimsRequests } from './protocol.js';

export const claimsHandlers: Handlers<keyof ClaimsRequests> = {};
