/** Requests and events of the explorer's train area (see ../protocol.ts). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface TrainRequests {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface TrainEvents {}
