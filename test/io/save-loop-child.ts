// Child process for the kill-during-save test: saves checkpoints in a loop into argv[2], each with every
// weight equal to its epoch number, and prints "saved <epoch>" after each save.
import { Tensor } from '../../src/tensor/tensor.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';

const dir = process.argv[2]!;
const size = 1 << 20; // 4 MB per tensor: a save takes long enough to be interrupted in the middle
for (let epoch = 1; ; epoch++) {
  const modelState: Record<string, Tensor> = {
    'a.weight': new Tensor(new Float32Array(size).fill(epoch), [size]),
    'b.weight': new Tensor(new Float32Array(size).fill(epoch), [1024, 1024]),
  };
  await saveCheckpoint(dir, {
    meta: {
      model: { name: 'loop', config: {} }, dataset: null, optimizer: null, scheduler: null, epoch, globalStep: epoch,
      rng: null, training: {}, metrics: { history: [], best: null },
    },
    modelState,
    optimizerState: { state: { 0: { step: epoch, buf: new Float32Array(size).fill(epoch) } }, paramGroups: [] },
  });
  process.stdout.write(`saved ${epoch}\n`);
}
