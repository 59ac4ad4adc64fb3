/**
 * `--runtime convkit|onnxruntime` for `convkit predict` and `convkit eval`: convkit's own kernels, or the model
 * exported to ONNX in memory and run by onnxruntime-node (src/node/onnxRuntime.ts).
 */
import { UsageError } from './errors.js';
import { stringOption, type ParsedArgs } from './options.js';
import { OnnxExportError } from '../io/onnx/export.js';
import type { Module } from '../nn/module.js';
import type { OnnxRuntimeModel } from '../node/onnxRuntime.js';

export type InferenceRuntime = 'convkit' | 'onnxruntime';

export function runtimeOption(values: ParsedArgs['values']): InferenceRuntime {
  const value = stringOption(values, 'runtime') ?? 'convkit';
  if (value !== 'convkit' && value !== 'onnxruntime') throw new UsageError(`--runtime ${value}: expected convkit or onnxruntime`);
  return value;
}

/** The onnxruntime model, or null for convkit's own kernels. */
export async function openRuntime(runtime: InferenceRuntime, net: Module, inputShape: readonly [number, number, number], threads?: number): Promise<OnnxRuntimeModel | null> {
  if (runtime === 'convkit') return null;
  const { onnxRuntimeModel, OnnxRuntimeUnavailableError } = await import('../node/onnxRuntime.js');
  try {
    return await onnxRuntimeModel(net, inputShape, threads ? { threads } : {});
  } catch (e) {
    if (e instanceof OnnxRuntimeUnavailableError) throw new UsageError(`--runtime onnxruntime: ${e.message}`);
    if (e instanceof OnnxExportError) throw new UsageError(`--runtime onnxruntime: ${e.message.replace(/^exportOnnx: /, '')}`);
    throw e;
  }
}
