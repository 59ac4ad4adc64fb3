/** Requests and events of the explorer's inspect area: Your input and Inside the model (see ../protocol.ts). */
import type { ReceptiveField } from '../../../src/inspect/receptive.js';
import type { ModelInfo } from '../engine/protocol.js';

/** One leaf layer's output for the current input (batch dimension dropped). */
export interface LayerActivation {
  /** Dotted path in the model (`features.3`). */
  path: string;
  /** Class name (`Conv2d`). */
  type: string;
  /** Output shape without the batch: [C, H, W] for feature maps, [N] for vectors. */
  shape: number[];
  /** The values, C·H·W (transferred, not copied). */
  values: Float32Array;
}

/** One leaf row of `summary(model, inputShape)` for the architecture table. */
export interface ArchitectureRow {
  path: string;
  type: string;
  /** Output shape without the batch. */
  outputShape: number[];
  params: number;
  macs: number;
  receptiveField: ReceptiveField | null;
}

/** The weights of one Conv2d layer: [out, in, kH, kW]. */
export interface ConvFilters {
  path: string;
  shape: [number, number, number, number];
  weights: Float32Array;
}

/** What does not change with the input: the architecture table and the conv filters. */
export interface ModelStructure {
  name: string;
  /** [C, H, W]. */
  inputShape: [number, number, number];
  rows: ArchitectureRow[];
  totalParams: number;
  totalMacs: number;
  filters: ConvFilters[];
}

export interface InspectRequests {
  /**
   * Replace the engine's model by an untrained zoo model with seeded PyTorch-default weights (to look inside a
   * network before any training), for 1x28x28 Fashion-MNIST inputs.
   */
  'inspect.createModel': { params: { name: string; seed: number }; result: ModelInfo };
  /** The current model's architecture table (leaf layers of `summary`) and conv filters. */
  'inspect.structure': { params: Record<string, never>; result: ModelStructure };
  /**
   * Every leaf layer's output (`traceLayers`) and the class probabilities for one image (pixels in [0, 1], CHW,
   * before normalisation), for any architecture (the layers are recorded during the model's own forward).
   * `layersError` says why the layers could not be traced; the probabilities are there anyway.
   */
  'inspect.trace': {
    params: { pixels: Float32Array };
    result: { layers: LayerActivation[]; layersError: string | null; probabilities: Float32Array; classNames: string[] };
  };
}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface InspectEvents {}
