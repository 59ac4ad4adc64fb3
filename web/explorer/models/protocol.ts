/** Requests and events of the explorer's models area (see ../protocol.ts): checkpoints in and out of the engine. */
import type { ModelInfo } from '../engine/protocol.js';

/** What the page shows of the engine's model: ModelInfo without the page's own version counter. */
export type ModelSummary = Omit<ModelInfo, 'version'>;

/** One file handed to the engine: its path as the user gave it ('run/best/checkpoint.json', 'x.tar'). */
export interface ModelFile {
  path: string;
  bytes: Uint8Array;
}

/** A checkpoint file the page offered for download, as checkpoint.json records it. */
export interface DownloadedFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface ModelsRequests {
  /**
   * Make a checkpoint the engine's model: a folder's files (checkpoint.json, model.safetensors and, to resume
   * training, optimizer.safetensors; in a run folder best/ is taken, then last/) or one .tar of such a folder.
   * Sizes and SHA-256 are checked against checkpoint.json. Refused while a training run is going.
   */
  'models.load': { params: { files: ModelFile[]; origin: string }; result: { model: ModelSummary; folder: string; notes: string[] } };
  /** The engine's current model, or null. */
  'models.describe': { params: Record<string, never>; result: ModelSummary | null };
  /**
   * The current model as a checkpoint folder in one .tar (`<model>-epoch<N>/` with the three files; sizes and
   * SHA-256 in checkpoint.json as the Node writer fills them), checked by reading it back before it is returned.
   */
  'models.download': { params: Record<string, never>; result: { fileName: string; tar: Uint8Array; files: DownloadedFile[] } };
  /**
   * Accuracy and mean loss of the current model on a test set, computed as `convkit eval` computes them: the
   * engine's loaded data if any, else the embedded Fashion-MNIST subset's 1,000 test images (/data/).
   */
  'models.evaluate': { params: Record<string, never>; result: { accuracy: number; loss: number; count: number; correct: number; dataset: string } };
}

// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModelsEvents {}
