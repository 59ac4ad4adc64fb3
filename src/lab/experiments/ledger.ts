/**
 * Experiment 1, the ledger: what a dense layer costs on a 200x200x3 image, and what local connectivity and
 * weight sharing each save. Exact arithmetic (src/inspect/ledger.ts), checked against real layers: the
 * locally connected and conv layers of the ledger are instantiated and their parameters counted, and the
 * dense count is checked on the same formula with a layer small enough to instantiate. Then the same ledger
 * for the models the other experiments train (mlp, lcnet, vggsmall on 1x28x28).
 */
import { layerLedger, modelLedger } from '../../inspect/ledger.js';
import { Conv2d, LocallyConnected2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import * as models from '../../models/index.js';
import { barChart } from '../../viz/svg.js';
import { count, markdownTable } from '../stats.js';
import type { Experiment } from '../types.js';

export const ledgerExperiment: Experiment = {
  name: 'ledger',
  index: 1,
  title: 'The parameter ledger: dense vs locally connected vs convolution',
  claim: 'A dense layer from a 200x200x3 image to 1,000 units needs 120,001,000 parameters; local connectivity and weight sharing each cut this by orders of magnitude.',
  defaultSeeds: { full: 1, quick: 1, smoke: 1 },
  async run(ctx) {
    const l = layerLedger({ input: [3, 200, 200], units: 1000 });
    // Independent check: build the local and conv layers of the ledger and count their parameters.
    const conv = new Conv2d(3, l.channels, l.kernel, { stride: l.stride, padding: l.padding });
    const local = new LocallyConnected2d(3, l.channels, l.kernel, { stride: l.stride, padding: l.padding, inputSize: [200, 200] });
    const denseFormula = 3 * 200 * 200 * 1000 + 1000;
    const small = new Linear(3 * 20 * 20, 10); // the dense formula in * out + out, on a layer that fits in memory
    const checks = {
      denseEqualsFormula: l.dense.params === denseFormula,
      denseFormulaOnRealLayer: small.numParameters() === 1200 * 10 + 10,
      localEqualsLayer: l.local.params === local.numParameters(),
      convEqualsLayer: l.conv.params === conv.numParameters(),
    };
    const allExact = Object.values(checks).every(Boolean);
    const rows = [l.dense, l.local, l.conv].map((c) => [c.kind, c.description, count(c.outputUnits), count(c.connectionsPerUnit), count(c.params), count(c.macs)]);
    const zoo = ['mlp', 'lenet5', 'vggsmall', 'lcnet'].filter((n) => models.has(n)).map((name) => {
      const m = modelLedger(models.create(name), [1, 28, 28]);
      return { name, totalParams: m.totalParams, unsharedParams: m.unsharedParams, denseParams: m.denseParams, macs: m.totalMacs };
    });
    const svg = barChart({
      title: 'Parameters of one layer: 200x200x3 input, 1,000 output units (log10)',
      yLabel: 'log10(parameters)',
      categories: ['dense', 'locally connected', 'conv'],
      series: [{ name: 'log10 params', values: [l.dense.params, l.local.params, l.conv.params].map(Math.log10) }],
      yRange: [0, 9],
    });
    ctx.output.text('ledger/ledger.svg', svg);
    const md = [
      markdownTable(['layer', 'what it is', 'output units', 'inputs per unit', 'parameters', 'MACs per image'], rows),
      '',
      `- Local connectivity (dense -> locally connected) saves **${l.localitySaving.toFixed(1)}x**; weight sharing (locally connected -> conv) saves **${l.sharingSaving.toFixed(1)}x** more; together **${count(l.dense.params / l.conv.params)}x**.`,
      `- Sharing saves parameters, not arithmetic: the locally connected layer and the convolution both do ${count(l.conv.macs)} multiply-accumulates per image (the dense layer ${count(l.dense.macs)}).`,
      `- Checked against real layers: \`LocallyConnected2d(3, ${l.channels}, ${l.kernel}, stride ${l.stride})\` on 200x200 has ${count(local.numParameters())} parameters, \`Conv2d(3, ${l.channels}, ${l.kernel}, stride ${l.stride})\` has ${count(conv.numParameters())}; the dense count is in*out+out = ${count(denseFormula)}. ${allExact ? 'All counts agree exactly.' : 'MISMATCH: ' + JSON.stringify(checks)}`,
      '',
      'The same ledger for the 28x28 models trained in the other experiments (every weighted layer replaced by a dense layer of the same input and output widths, or by the same connectivity without sharing):',
      '',
      markdownTable(['model', 'parameters', 'without weight sharing', 'dense, same widths', 'MACs per image'],
        zoo.map((z) => [z.name, count(z.totalParams), count(z.unsharedParams), count(z.denseParams), count(z.macs)])),
      '',
      '![ledger](ledger/ledger.svg)',
    ].join('\n');
    return {
      verdict: allExact && l.dense.params === 120_001_000 ? 'exact' : 'does not hold',
      summary: `Dense: ${count(l.dense.params)} parameters; locally connected (${l.local.description}): ${count(l.local.params)}; conv: ${count(l.conv.params)}. Locality saves ${l.localitySaving.toFixed(1)}x, sharing ${l.sharingSaving.toFixed(1)}x more.`,
      protocol: 'Exact arithmetic (no training, no randomness), cross-checked by instantiating the layers.',
      markdown: md,
      results: { layer: l, checks, models: zoo },
    };
  },
};
