/** Requests and events of the explorer's inspect area (see ../protocol.ts). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface InspectRequests {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface InspectEvents {}
