/** Handlers of the explorer's inspect requests (declared in ./protocol.ts). */
import { data, manualSeed, models, nn } from '../../../src/index.js';
import { summary, traceLayers } from '../../../src/inspect/index.js';
import type { CheckpointMeta } from '../../../src/io/checkpoint.js';
import type { Handlers } from '../worker.js';
import { Transfer, type LoadedModel } from '../engine/state.js';
import type { ModelInfo } from '../engine/protocol.js';
import { inEvalMode, modelInput, probabilities, requireModel } from '../engine/model.js';
import type { ConvFilters, InspectRequests, LayerActivation, ModelStructure } from './protocol.js';

/** Each created model gets a new version, so views keyed on it re-query. */
let createdModels = 0;

/** What the page shows of a model (the model itself stays here). */
function describe(model: LoadedModel, version: number): ModelInfo {
  const ds = model.meta.dataset!;
  return {
    name: model.meta.model.name,
    classNames: [...ds.classNames],
    inputShape: ds.inputShape,
    normalization: ds.normalization,
    origin: model.origin,
    parameters: model.net.numParameters(),
    epochs: model.meta.epoch,
    testAccuracy: model.meta.metrics.history.at(-1)?.testAccuracy ?? null,
    version,
  };
}

export const inspectHandlers: Handlers<keyof InspectRequests> = {
  'inspect.createModel'({ name, seed }, state) {
    if (state.training) throw new Error('a training run is going: stop it before replacing the model');
    if (!Number.isInteger(seed)) throw new Error(`the seed must be an integer, got ${seed}`);
    const inputShape: [number, number, number] = [1, 28, 28];
    const config = { numClasses: data.FASHION_MNIST_CLASSES.length, inChannels: inputShape[0], inputSize: [inputShape[1], inputShape[2]] as [number, number] };
    // The same seeding as `convkit train --seed`: the default generator, then create.
    manualSeed(seed);
    const net = models.create(name, config);
    const meta: CheckpointMeta = {
      model: { name, config: { numClasses: config.numClasses, inChannels: config.inChannels, inputSize: [...config.inputSize] } },
      dataset: { name: 'fashion-mnist', classNames: [...data.FASHION_MNIST_CLASSES], inputShape, normalization: null },
      optimizer: null,
      scheduler: null,
      epoch: 0,
      globalStep: 0,
      rng: null,
      training: { seed },
      metrics: { history: [], best: null },
    };
    state.model = { net, meta, origin: `untrained ${name} (seed ${seed})`, optimizerState: null };
    return describe(state.model, ++createdModels);
  },

  'inspect.structure'(_params, state) {
    const model = requireModel(state);
    const inputShape = model.meta.dataset!.inputShape;
    const s = summary(model.net, inputShape);
    const rows = s.rows.filter((r) => r.leaf).map((r) => ({
      path: r.path, type: r.type, outputShape: r.outputShape.slice(1), params: r.params, macs: r.macs, receptiveField: r.receptiveField,
    }));
    const filters: ConvFilters[] = [];
    for (const [path, module] of model.net.namedModules()) {
      if (module instanceof nn.Conv2d) {
        const w = module.weight;
        filters.push({ path, shape: [w.shape[0]!, w.shape[1]!, w.shape[2]!, w.shape[3]!], weights: Float32Array.from(w.data) });
      }
    }
    const structure: ModelStructure = {
      name: model.meta.model.name, inputShape, rows, totalParams: s.totalParams, totalMacs: s.totalMacs, filters,
    };
    return new Transfer(structure, filters.map((f) => f.weights.buffer as ArrayBuffer));
  },

  'inspect.trace'({ pixels }, state) {
    const model = requireModel(state);
    const probs = probabilities(model, pixels);
    let layers: LayerActivation[] = [];
    let layersError: string | null = null;
    try {
      const x = modelInput(model, pixels);
      layers = inEvalMode(model.net, () => traceLayers(model.net, x.data, x.shape, model.meta.model.name)).map((l) => ({
        path: l.path, type: l.type, shape: l.shape.slice(1), values: l.data,
      }));
    } catch (e) {
      layersError = (e as Error).message;
    }
    return new Transfer(
      { layers, layersError, probabilities: probs, classNames: model.meta.dataset?.classNames ?? [] },
      [probs.buffer as ArrayBuffer, ...layers.map((l) => l.values.buffer as ArrayBuffer)],
    );
  },
};
