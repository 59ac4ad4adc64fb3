import { manualSeed, models, optim, F, data, noGrad } from 'convkit';
import { loadFashionMnist } from 'convkit/node';

manualSeed(0);                                              // runs on native (Node) or wasm (browsers), SIMD + threads
const train = new data.DataLoader(await loadFashionMnist({ split: 'train' }), { batchSize: 64, shuffle: true });
const test = new data.DataLoader(await loadFashionMnist({ split: 'test' }), { batchSize: 256 });
const net = models.create('lenet5', { numClasses: 10 });
const opt = new optim.Adam(net.parameters(), { lr: 2e-3 });
for (const { x, y } of train) {                             // one epoch: x [64,1,28,28] float32, y Int32Array
  const loss = F.crossEntropy(net.forward(x), y);
  opt.zeroGrad(); loss.backward(); opt.step();
}
net.eval();
let correct = 0;
noGrad(() => { for (const { x, y } of test) net.forward(x).argmax(1).forEach((p, i) => (correct += +(p === y[i]))); });
console.log(`test accuracy after one epoch: ${(100 * correct / test.dataset.length).toFixed(1)}%`);
