// The lab's picture and chart helpers: sizes, colours and valid SVG; PNG round trip; the CLI's argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tileGrid, stackVertically } from '../../src/viz/image.js';
import { lineChart, barChart, niceTicks } from '../../src/viz/svg.js';
import { encodePng, decodePng } from '../../src/node/vizPng.js';

test('tileGrid lays out upscaled tiles with gaps and maps values to colours', () => {
  const tiles = [{ values: [0, 1, 2, 3], width: 2, height: 2 }, { values: [-1, 0, 0, 1], width: 2, height: 2 }, { values: [5, 5, 5, 5], width: 2, height: 2 }];
  const g = tileGrid(tiles, { columns: 2, scale: 3, gap: 1 });
  assert.equal(g.width, 2 * 6 + 3);
  assert.equal(g.height, 2 * 6 + 3);
  assert.equal(g.rgba.length, g.width * g.height * 4);
  const px = (x: number, y: number) => [...g.rgba.subarray((y * g.width + x) * 4, (y * g.width + x) * 4 + 3)];
  assert.deepEqual(px(1, 1), [0, 0, 0]); // first tile's minimum is black
  assert.deepEqual(px(1 + 3, 1 + 3), [255, 255, 255]); // its maximum is white
  const d = tileGrid([{ values: [-2, 0, 2, 0], width: 2, height: 2 }], { scale: 1, gap: 0, colormap: 'diverging' });
  assert.deepEqual([...d.rgba.subarray(4, 7)], [255, 255, 255]); // zero is white
  assert.ok(d.rgba[0]! < d.rgba[2]!); // negative is blue
  assert.throws(() => tileGrid([{ values: [1, 2, 3], width: 2, height: 2 }]), /tile 0 has 3 values/);
  const s = stackVertically([g, d], 4);
  assert.equal(s.height, g.height + d.height + 4);
});

test('PNG encoding round-trips the pixels', () => {
  const g = tileGrid([{ values: [0, 0.5, 1, 0.25], width: 2, height: 2 }], { scale: 2 });
  const back = decodePng(encodePng(g));
  assert.equal(back.width, g.width);
  assert.deepEqual([...back.rgba], [...g.rgba]);
});

test('charts are SVG documents naming their series; ticks are round numbers', () => {
  const svg = lineChart({ title: 'a < b', xLabel: 'x', yLabel: 'y', logX: true, series: [{ name: 'mlp', points: [{ x: 1000, y: 0.7, lo: 0.6, hi: 0.8 }, { x: 60000, y: 0.85 }] }] });
  assert.match(svg, /^<svg[\s\S]*<\/svg>$/);
  assert.ok(svg.includes('>mlp<'));
  assert.ok(svg.includes('a &lt; b'));
  assert.throws(() => lineChart({ title: '', xLabel: '', yLabel: '', logX: true, series: [{ name: 's', points: [{ x: 0, y: 1 }] }] }), /positive/);
  assert.ok(barChart({ title: 't', yLabel: 'y', categories: ['a', 'b'], series: [{ name: 'one', values: [1, 2] }] }).includes('>one<'));
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test('convkit lab: an unknown experiment or a missing name is a usage error (exit code 2)', () => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, 'lab', ...args], { encoding: 'utf8', timeout: 60000 });
  const unknown = run('nosuch');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown experiment 'nosuch'.*ledger/);
  const none = run();
  assert.equal(none.status, 2);
  assert.match(none.stderr, /name an experiment/);
});
