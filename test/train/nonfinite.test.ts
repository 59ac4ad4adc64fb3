import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, Generator } from '../../src/tensor/random.js';
import { SGD } from '../../src/optim/sgd.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { fit, NonFiniteLossError, type TrainEvent } from '../../src/train/trainer.js';
import { TinyNet } from './tiny-net.js';

test('a diverging run stops with a clear message naming the epoch and step, and saves nothing broken', async () => {
  manualSeed(1);
  const net = new TinyNet();
  const opt = new SGD(net.parameters(), { lr: 1e38 });
  const data = loadEmbeddedFashionMnist('train').take(256);
  const train = new DataLoader(data, { batchSize: 16, shuffle: true, generator: new Generator(2) });
  const testLoader = new DataLoader(loadEmbeddedFashionMnist('test').take(32), { batchSize: 32 });
  const events: TrainEvent[] = [];
  let saves = 0;
  let before: Float32Array | null = null;
  await assert.rejects(
    fit({
      model: net, optimizer: opt, train, test: testLoader, epochs: 3, info: { model: { name: 'tiny', config: {} } },
      saveCheckpoint: () => { saves++; },
      onEvent: (e) => {
        events.push(e);
        before = net.stateDict()['fcWeight']!.data.slice();
      },
    }),
    (e: unknown) => {
      assert.ok(e instanceof NonFiniteLossError);
      assert.match(e.message, /^training stopped: the loss became (NaN|Infinity|-Infinity) at epoch 1, step \d+ \(global step \d+, learning rate 1e\+38\)/);
      assert.match(e.message, /try a lower learning rate/);
      assert.equal(e.epoch, 1);
      assert.ok(e.step >= 2, 'the first steps were finite');
      return true;
    },
  );
  assert.equal(saves, 0, 'no checkpoint of a diverged epoch');
  // The failing step did not touch the weights (they equal those after the last finite step).
  assert.deepEqual(Array.from(net.stateDict()['fcWeight']!.data), Array.from(before!));
  assert.equal(events.filter((e) => e.type === 'epochEnd').length, 0);
});
