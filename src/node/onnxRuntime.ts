/**
 * Inference through onnxruntime-node (an optional dependency) for `convkit predict|eval --runtime onnxruntime`:
 * the checkpoint's model is exported to ONNX in memory (src/io/onnx/export.ts) and run by onnxruntime's CPU
 * execution provider. Node only.
 */
import { exportOnnx } from '../io/onnx/export.js';
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';

/** A model running in onnxruntime: the logits [N, classes] of N images. */
export interface OnnxRuntimeModel {
  logits(x: Tensor): Promise<Tensor>;
  /** e.g. 'onnxruntime-node 1.31.1' */
  description: string;
}

/** onnxruntime-node is missing (it is optional) or failed to load. */
export class OnnxRuntimeUnavailableError extends Error {
  override name = 'OnnxRuntimeUnavailableError';
}

export async function onnxRuntimeModel(net: Module, inputShape: readonly [number, number, number], options: { threads?: number } = {}): Promise<OnnxRuntimeModel> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    throw new OnnxRuntimeUnavailableError(`onnxruntime-node is not installed (it is an optional dependency: npm install onnxruntime-node): ${(e as Error).message.split('\n')[0]}`);
  }
  const bytes = exportOnnx(net, { inputShape });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
  });
  const { createRequire } = await import('node:module');
  let version = '?';
  try { version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version; } catch { /* the version is only shown */ }
  return {
    description: `onnxruntime-node ${version}`,
    async logits(x: Tensor): Promise<Tensor> {
      const input = new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]);
      const out = (await session.run({ input }))['output']!;
      return new Tensor(Float32Array.from(out.data as Float32Array), [...out.dims]);
    },
  };
}
