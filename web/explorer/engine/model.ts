/** Running the engine's current model on one or more inputs, the way `convkit predict` does. */
import { noGrad, softmax, Tensor, type nn } from '../../../src/index.js';
import type { EngineState, LoadedModel } from './state.js';

/** The current model, or an error a user can act on. */
export function requireModel(state: EngineState): LoadedModel {
  if (!state.model) throw new Error('no model yet: train one in the Train tab or load a checkpoint in "Models in and out"');
  return state.model;
}

/**
 * Normalise pixels in [0, 1] (N images, CHW each) as the model's checkpoint says, into a tensor [N, C, H, W].
 * Same arithmetic as `convkit predict`: (x - mean[c]) / std[c].
 */
export function modelInput(model: LoadedModel, pixels: Float32Array, count = 1): Tensor {
  const ds = model.meta.dataset;
  if (!ds) throw new Error('the model does not record its input shape');
  const [c, h, w] = ds.inputShape;
  if (pixels.length !== count * c * h * w) {
    throw new Error(`an input of ${pixels.length} values does not fit ${count} image(s) of shape [${c}, ${h}, ${w}]`);
  }
  const x = new Float32Array(pixels);
  const norm = ds.normalization;
  if (norm) {
    const plane = h * w;
    for (let n = 0; n < count; n++) {
      for (let ch = 0; ch < c; ch++) {
        const m = norm.mean[ch] ?? norm.mean[0]!, s = norm.std[ch] ?? norm.std[0]!;
        const base = (n * c + ch) * plane;
        for (let j = base; j < base + plane; j++) x[j] = (x[j]! - m) / s;
      }
    }
  }
  return new Tensor(x, [count, c, h, w]);
}

/** Run `fn` with the net in eval mode and no tape, then restore its mode (training may be paused mid-epoch). */
export function inEvalMode<T>(net: nn.Module, fn: () => T): T {
  const wasTraining = net.training;
  net.eval();
  try {
    return noGrad(fn);
  } finally {
    if (wasTraining) net.train();
  }
}

/** Class probabilities (softmax of the logits) for N images. */
export function probabilities(model: LoadedModel, pixels: Float32Array, count = 1): Float32Array {
  return inEvalMode(model.net, () => Float32Array.from(softmax(model.net.forward(modelInput(model, pixels, count)), -1).data));
}
