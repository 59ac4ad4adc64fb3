/** `convkit models`: the model registry with parameter counts, MACs at the native input, and what each family contributed. */
import { defineCommand } from '../command.js';
import * as models from '../../models/index.js';
import { skipInit } from '../../nn/init.js';
import { summary, formatScaled } from '../../inspect/index.js';
import { defaultInput } from './summary.js';

export default defineCommand({
  name: 'models',
  order: 59,
  summary: 'list the model zoo with parameter counts and MACs',
  usage: 'convkit models [--long] [--json]',
  description: 'Counts are for each model\'s default input and classes (ImageNet models: 3x224x224, 1000 classes; small models: 1x28x28, 10 classes).',
  options: {
    long: { type: 'boolean', description: 'also print what each family contributed' },
    json: { type: 'boolean', description: 'one JSON object per model' },
  },
  examples: ['convkit models', 'convkit models --long'],
  async run({ args, out }) {
    const rows = models.list().map((info) => {
      const input = defaultInput(info);
      const net = skipInit(() => models.create(info.name));
      const s = summary(net, [input.channels, input.height, input.width]);
      return { ...info, input: [input.channels, input.height, input.width], params: s.totalParams, macs: s.totalMacs };
    });
    if (args.values['json']) {
      for (const r of rows) out.write(JSON.stringify(r) + '\n');
      return 0;
    }
    const table = [['model', 'params', 'MACs', 'input', 'description'],
      ...rows.map((r) => [r.name, r.params.toLocaleString('en-US'), formatScaled(r.macs), r.input.join('x'), r.description])];
    const widths = table[0]!.map((_, j) => Math.max(...table.map((row) => row[j]!.length)));
    for (const row of table) {
      out.write(row.map((c, j) => (j === row.length - 1 ? c : j === 1 || j === 2 ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ') + '\n');
      const r = rows.find((x) => x.name === row[0]);
      if (args.values['long'] && r) out.write(`    ${r.contribution}\n`);
    }
    return 0;
  },
});
