/** Requests and events of the explorer's models area (see ../protocol.ts). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModelsRequests {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModelsEvents {}
