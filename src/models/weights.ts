/**
 * Weights in and out of zoo models as safetensors bytes (browser-safe: bytes in, bytes out; read and write
 * files with `node:fs` or `fetch`). Files from PyTorch come from tools/export_torch_weights.py, which saves a
 * model's `state_dict()` under its own keys; the classic zoo models use torchvision's keys, so torchvision
 * weights load one to one.
 *
 * @example
 * const net = nn.init.skipInit(() => models.create('resnet18'));        // no random init: it is overwritten
 * loadWeights(net, readFileSync('resnet18.safetensors'), { fileName: 'resnet18.safetensors' });
 * writeFileSync('mine.safetensors', saveWeights(net));
 */
import { Tensor } from '../tensor/tensor.js';
import type { Module, LoadStateDictResult } from '../nn/module.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsInput } from '../io/safetensors.js';

export interface LoadWeightsOptions {
  /** Named in error messages. */
  fileName?: string;
  /** Require exactly the model's keys (default true). Shape mismatches are always errors. */
  strict?: boolean;
}

/**
 * Decode safetensors bytes into a state dict (float32 tensors by key). Integer tensors such as BatchNorm's
 * `num_batches_tracked` (I64 in PyTorch files) are converted to float32.
 */
export function stateDictFromSafetensors(bytes: Uint8Array, fileName?: string): Record<string, Tensor> {
  const file = decodeSafetensors(bytes, fileName ? { fileName } : {});
  const out: Record<string, Tensor> = {};
  for (const [name, t] of file.tensors) out[name] = new Tensor(t.data, t.shape);
  return out;
}

/**
 * Load safetensors weights into `model` by key. On any mismatch nothing is loaded and one error lists every
 * mis-shaped key (with the model's and the file's shape), every missing and every unexpected key.
 */
export function loadWeights(model: Module, bytes: Uint8Array, options: LoadWeightsOptions = {}): LoadStateDictResult {
  const sd = stateDictFromSafetensors(bytes, options.fileName);
  try {
    return model.loadStateDict(sd, { strict: options.strict ?? true });
  } catch (e) {
    if (options.fileName && e instanceof Error) e.message = `${options.fileName}: ${e.message}`;
    throw e;
  }
}

/** The model's state dict (parameters and persistent buffers) as safetensors bytes, keys as in `stateDict()`. */
export function saveWeights(model: Module, metadata: Record<string, string> = {}): Uint8Array {
  const tensors = new Map<string, SafetensorsInput>();
  for (const [key, t] of Object.entries(model.stateDict())) tensors.set(key, { data: t.data, shape: t.shape });
  return encodeSafetensors(tensors, { format: 'pt', ...metadata });
}
