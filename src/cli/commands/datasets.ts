/** `convkit datasets`: which source each built-in dataset and split resolves to right now (no network access). */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { stringOption } from '../options.js';
import { describeDatasetSources } from '../../node/datasets.js';
import { jsonLine } from '../../node/progress.js';

export default defineCommand({
  name: 'datasets',
  order: 50,
  summary: 'show where each dataset would be loaded from',
  usage: 'convkit datasets [--data DIR] [--json]',
  description:
    'Sources are tried in this order: --data DIR, $CONVKIT_DATA, Debian\'s dataset-fashion-mnist package ' +
    '(/usr/share/datasets/fashion-mnist), the cache (~/.cache/convkit), the official download, and for ' +
    'Fashion-MNIST a real 2,000/1,000-image subset shipped in the package.',
  options: {
    data: { type: 'string', valueName: 'DIR', description: 'a folder holding the IDX files (checked first)' },
    json: { type: 'boolean', description: 'print one JSON object per dataset split' },
  },
  async run({ args, out, env, cwd }) {
    const dataDir = stringOption(args.values, 'data');
    if (dataDir !== undefined && !existsSync(resolve(cwd, dataDir))) throw new UsageError(`--data ${dataDir}: no such folder`);
    const rows = describeDatasetSources({ dataDir: dataDir !== undefined ? resolve(cwd, dataDir) : undefined, env });
    if (args.values['json']) {
      for (const r of rows) out.write(jsonLine(r) + '\n');
      return 0;
    }
    const table = [['dataset', 'split', 'source', 'images', 'location'], ...rows.map((r) => [r.dataset, r.split, r.kind, String(r.count), r.location])];
    const widths = table[0]!.map((_, j) => Math.max(...table.map((row) => row[j]!.length)));
    for (const row of table) out.write(row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j]!))).join('  ') + '\n');
    const notes = [...new Set(rows.filter((r) => r.note && r.note !== 'full dataset').map((r) => `${r.dataset} ${r.split}: ${r.note}`))];
    if (notes.length) out.write('\n' + notes.join('\n') + '\n');
    return 0;
  },
});
