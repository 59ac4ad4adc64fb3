/**
 * convkit peer: `--backend reference` or `--backend wasm --threads N`. One cell per process; run from the
 * project root with `node --import tsx bench/peers/convkit.ts ...` (it imports the library's sources).
 *
 * The models come from the zoo (`models.create`): mlp, lenet5, vggsmall, and resnet20 = the zoo's
 * `resnet20b` (option-B shortcuts, 272,474 parameters). A training step is what `fit()` does: inside the
 * backend's step scope, forward, cross-entropy, zeroGrad, backward, `optim.SGD` (lr 0.01, momentum 0.9),
 * reading the loss back. Inference: eval mode, noGrad, the same scope, reading the logits back.
 */
import { createRequire } from 'node:module';
import { F, models, noGrad, optim, setBackend, tensor, type Tensor } from '../../src/index.js';
import type { WasmBackend } from '../../src/backend/wasm/index.js';
import { cellArgs, emit, measure, randomInputs, INPUT_SHAPES, PARAM_COUNTS } from '../lib/timing.mjs';

type StepScope = <T>(fn: () => T) => T;

const args = cellArgs();
const ZOO_NAMES: Record<string, string> = { mlp: 'mlp', lenet5: 'lenet5', vggsmall: 'vggsmall', resnet20: 'resnet20b' };

async function main(): Promise<void> {
  const backendName = args.backend || 'reference';
  const backend = await setBackend(backendName);
  let threads = 1;
  if (backendName === 'wasm') {
    const wasm = backend as WasmBackend;
    await wasm.setThreads(args.threads || 1);
    threads = wasm.threads;
  }
  const scoped = backend as { scope?: StepScope };
  const scope: StepScope = typeof scoped.scope === 'function' ? (fn) => scoped.scope!(fn) : (fn) => fn();
  if (args.info) {
    const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
    emit({ version, backend: backendName, threads });
    return;
  }
  const zooName = ZOO_NAMES[args.model];
  if (zooName === undefined) throw new Error(`convkit: unknown model '${args.model}'`);
  const [c, h, w] = INPUT_SHAPES[args.model]!;
  const net = models.create(zooName, { numClasses: 10, inChannels: c, inputSize: [h, w] });
  const params = [...net.parameters()];
  const count = params.reduce((sum, p) => sum + p.data.length, 0);
  if (count !== PARAM_COUNTS[args.model]) throw new Error(`convkit ${args.model}: ${count} parameters, expected ${PARAM_COUNTS[args.model]}`);

  const { x, y } = randomInputs(args.model, args.batch);
  const per = c * h * w;
  const batches = new Map<number, { xb: Tensor; yb: Int32Array }>();
  const batchOf = (k: number): { xb: Tensor; yb: Int32Array } => {
    let b = batches.get(k);
    if (!b) {
      // The fixed batch lives in the backend's memory, as a tf.tensor does in TensorFlow.js's and as a DataLoader's
      // reused buffer does: kernels read it in place.
      const data = backend.allocState(k * per);
      data.set(x.subarray(0, k * per));
      b = { xb: tensor(data, [k, c, h, w]), yb: y.slice(0, k) };
      batches.set(k, b);
    }
    return b;
  };

  let step: (k: number) => void;
  if (args.mode === 'train') {
    net.train();
    const opt = new optim.SGD(params, { lr: 0.01, momentum: 0.9 });
    step = (k) => {
      const { xb, yb } = batchOf(k);
      const loss = scope(() => {
        const l = F.crossEntropy(net.forward(xb), yb);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l.item();
      });
      if (!Number.isFinite(loss)) throw new Error(`convkit ${args.model}: loss is ${loss}`);
    };
  } else {
    net.eval();
    step = (k) => {
      const { xb } = batchOf(k);
      const first = noGrad(() => scope(() => net.forward(xb).data[0]!));
      if (!Number.isFinite(first)) throw new Error(`convkit ${args.model}: logit is ${first}`);
    };
  }
  const result = await measure(step, args.batch, args);
  emit({ batch: args.batch, threads, ...result });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
