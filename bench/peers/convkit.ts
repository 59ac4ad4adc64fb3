/**
 * convkit peer: `--backend NAME [--threads N]`, NAME any registered backend (reference, wasm, native). One cell per
 * process; run from the project root with `node --import tsx bench/peers/convkit.ts ...` (it imports the library's
 * sources). `--info` reports the version, the backend (with the native backend's instruction-set level, e.g.
 * "native avx2") and the threads it runs.
 *
 * The models come from the zoo (`models.create`): mlp, lenet5, vggsmall, and resnet20 = the zoo's
 * `resnet20b` (option-B shortcuts, 272,474 parameters). A training step is what `fit()` does: inside the
 * backend's step scope, forward, cross-entropy, zeroGrad, backward, `optim.SGD` (lr 0.01, momentum 0.9),
 * reading the loss back. Inference: eval mode, noGrad, the same scope, reading the logits back, on the copy that
 * `nn.optimizeForInference` makes once before timing (eval-mode BatchNorm2d folded into the Conv2d before it, as
 * onnxruntime's session does at creation and PyTorch's optimize_for_inference does; resnet20's 21 batch norms).
 */
import { createRequire } from 'node:module';
import { availableBackends, F, models, nn, noGrad, optim, setBackend, tensor, type Backend, type Tensor } from '../../src/index.js';
import { cellArgs, emit, measure, randomInputs, INPUT_SHAPES, PARAM_COUNTS } from '../lib/timing.mjs';

type StepScope = <T>(fn: () => T) => T;
/** What the peer uses beyond the Backend contract, where a backend has it (wasm and native have threads). */
type BenchedBackend = Backend & { threads?: number; setThreads?: (n: number) => unknown; isa?: string; scope?: StepScope };

const USAGE = `usage: node --import tsx bench/peers/convkit.ts --backend NAME [--threads N] (--info | --model M --mode train|infer
       [--seconds S] [--repeats R] [--warmup W] [--max-step M] [--batch B])
NAME: a registered backend (${availableBackends().join(', ')}); M: mlp, lenet5, vggsmall, resnet20`;
if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const args = cellArgs();
const ZOO_NAMES: Record<string, string> = { mlp: 'mlp', lenet5: 'lenet5', vggsmall: 'vggsmall', resnet20: 'resnet20b' };

/** Select `name` with `threads` threads (where the backend has threads), or fail saying why it cannot run. */
async function selectBackend(name: string, threads: number): Promise<BenchedBackend> {
  if (!availableBackends().includes(name)) {
    throw new Error(`convkit peer: backend '${name}' is not registered in this checkout (registered: ${availableBackends().join(', ')})`);
  }
  let backend: BenchedBackend;
  try {
    backend = await setBackend(name);
  } catch (error) {
    throw new Error(`convkit peer: backend '${name}' could not load: ${(error as Error).message}`);
  }
  if (typeof backend.setThreads === 'function') await backend.setThreads(threads || 1);
  else if (threads > 1) throw new Error(`convkit peer: backend '${name}' has no threads (asked for --threads ${threads})`);
  return backend;
}

async function main(): Promise<void> {
  const backendName = args.backend || 'reference';
  const backend = await selectBackend(backendName, args.threads);
  const threads = backend.threads ?? 1;
  const scope: StepScope = typeof backend.scope === 'function' ? (fn) => backend.scope!(fn) : (fn) => fn();
  if (args.info) {
    const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
    emit({ version, backend: backendName, ...(backend.isa === undefined ? {} : { isa: backend.isa }), threads });
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
    const inferNet = nn.optimizeForInference(net, batchOf(1).xb);
    step = (k) => {
      const { xb } = batchOf(k);
      const first = noGrad(() => scope(() => inferNet.forward(xb).data[0]!));
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
