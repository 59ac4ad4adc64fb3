/**
 * onnxruntime-node peer (inference only): the models exported from PyTorch by bench/python/export_onnx.py
 * (bench/onnx/<model>.onnx), CPU execution provider, all graph optimisations, 2 intra-op threads
 * (`--threads`). One cell per process.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { cellArgs, emit, measure, randomInputs } from '../lib/timing.mjs';

const require = createRequire(import.meta.url);
const args = cellArgs();

async function main() {
  if (args.info) {
    emit({ version: require('onnxruntime-node/package.json').version, detail: 'CPU execution provider' });
    return;
  }
  if (args.mode === 'train') {
    emit({ status: 'cannot', note: 'inference only (onnxruntime-node has no training API)' });
    return;
  }
  const path = fileURLToPath(new URL(`../onnx/${args.model}.onnx`, import.meta.url));
  if (!existsSync(path)) throw new Error(`onnxruntime: ${path} is missing (run /usr/bin/python3 bench/python/export_onnx.py)`);
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads || 2,
    interOpNumThreads: 1,
  });
  const { x, shape } = randomInputs(args.model, args.batch);
  const per = shape[1] * shape[2] * shape[3];
  const feeds = new Map();
  const feedOf = (k) => {
    if (!feeds.has(k)) feeds.set(k, { input: new ort.Tensor('float32', x.subarray(0, k * per), [k, shape[1], shape[2], shape[3]]) });
    return feeds.get(k);
  };
  const step = async (k) => {
    const out = await session.run(feedOf(k));
    out.logits.dispose?.();
  };
  const result = await measure(step, args.batch, args);
  emit({ batch: args.batch, threads: args.threads || 2, ...result });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
