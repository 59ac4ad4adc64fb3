/** Requests and events of the explorer's claims area (see ../protocol.ts). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ClaimsRequests {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ClaimsEvents {}
