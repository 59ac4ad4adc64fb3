/**
 * The explorer's Your input and Inside the model tabs against the library computed in Node: an untrained seeded
 * LeNet-5 created in the page equals the same seeded model created here, so every number the page shows can be
 * checked: the drawing's preprocessing, an upload's preprocessing and probabilities (against `convkit predict
 * --json` on a checkpoint of that model), every layer's shape and channels (against `summary`), a hovered unit's
 * value (against `traceLayers`) and its receptive field (against the summary's field).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { manualSeed, models, summary } from '../../src/index.js';
import { preprocessDrawing } from '../../src/data/preprocess.js';
import { traceLayers, unitField, type LayerOutput, type ModelSummary } from '../../src/inspect/index.js';
import { preprocessImageFile } from '../../src/node/dataImages.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/catalog.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { noGrad, softmax, Tensor } from '../../src/index.js';
import type { nn } from '../../src/index.js';
import { skipReason, startExplorer, type ExplorerSession } from './support/explorer.js';

const SEED = 7;
const MODEL = 'lenet5';
const work = mkdtempSync(join(tmpdir(), 'convkit-explorer-inspect-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** A 60x40 RGB PNG: a bright ellipse on a dark, coloured, slightly noisy background (deterministic). */
function writeTestPng(path: string): void {
  const png = new PNG({ width: 60, height: 40, colorType: 2 });
  let s = 12345;
  const noise = () => { s = (s * 1103515245 + 12345) % 2147483648; return (s / 2147483648) * 30; };
  for (let y = 0; y < 40; y++) {
    for (let x = 0; x < 60; x++) {
      const inside = ((x - 30) / 18) ** 2 + ((y - 20) / 13) ** 2 < 1;
      const o = (y * 60 + x) * 4;
      png.data[o] = inside ? 230 : Math.round(20 + noise());
      png.data[o + 1] = inside ? 200 + (x % 40) : Math.round(40 + noise());
      png.data[o + 2] = inside ? 120 : Math.round(90 + noise());
      png.data[o + 3] = 255;
    }
  }
  writeFileSync(path, PNG.sync.write(png, { colorType: 2 }));
}

/** The page's model, created here the same way (inspect.createModel: manualSeed, then models.create). */
function seededModel(): nn.Module {
  manualSeed(SEED);
  return models.create(MODEL, { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
}

interface PageInput { pixels: number[]; shape: number[]; source: string }
const pageInput = (page: Page): Promise<PageInput | null> => page.evaluate(() => {
  const app = (window as unknown as { convkitExplorer: { input: { pixels: Float32Array; shape: number[]; source: string } | null } }).convkitExplorer;
  return app.input ? { pixels: Array.from(app.input.pixels), shape: [...app.input.shape], source: app.input.source } : null;
});

const readProbabilities = (page: Page): Promise<{ index: number; p: number }[]> => page.$$eval('#input-probabilities [data-class]', (rows) =>
  rows.map((r) => ({ index: Number(r.getAttribute('data-class')), p: Number(r.getAttribute('data-probability')) })));

/** Create the seeded untrained model with the page's button (the no-model hint of the given tab). */
async function createModel(page: Page, tab: 'input' | 'inside'): Promise<void> {
  await page.click(`#tab-${tab}`);
  await page.selectOption(`#${tab}-untrained-model`, MODEL);
  await page.fill(`#${tab}-untrained-seed`, String(SEED));
  await page.click(`#${tab}-untrained`);
  await page.waitForFunction(() => (window as unknown as { convkitExplorer: { model: unknown } }).convkitExplorer.model !== null);
}

describe('explorer: Your input and Inside the model', { skip: skipReason ?? false }, () => {
  let session: ExplorerSession;
  const pngPath = join(work, 'ellipse.png');
  let net: nn.Module;
  let modelSummary: ModelSummary;
  before(async () => {
    writeTestPng(pngPath);
    net = seededModel();
    modelSummary = summary(net, [1, 28, 28]);
    session = await startExplorer();
  });
  after(async () => { await session?.close(); });

  test('without a model both tabs say how to get one, and offer an untrained network', async () => {
    const { page, errors } = await session.open({ hash: 'input' });
    assert.match(await page.textContent('#panel-input [data-no-model]') ?? '', /train one in the Train tab.*load a checkpoint/s);
    await page.click('#tab-inside');
    assert.match(await page.textContent('#panel-inside [data-no-model]') ?? '', /train one in the Train tab/);
    assert.match(await page.textContent('#inside-untrained') ?? '', /inspect an untrained lenet5/);
    await page.fill('#inside-untrained-seed', '-1');
    await page.click('#inside-untrained');
    assert.match(await page.textContent('#panel-inside [role=alert]') ?? '', /seed must be a whole number/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('drawing on the pad: probabilities of 10 classes summing to 1, updated while drawing; the preview is the library\'s preprocessing', async () => {
    const { page, errors } = await session.open({ hash: 'input' });
    await createModel(page, 'input');
    const box = (await page.locator('#input-pad').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.25);
    await page.mouse.down();
    for (let i = 1; i <= 6; i++) {
      await page.mouse.move(box.x + box.width * (0.3 + 0.05 * i), box.y + box.height * (0.25 + 0.08 * i), { steps: 4 });
      await page.waitForTimeout(60);
    }
    // Still drawing (the button is down): the probabilities are already there.
    await page.waitForSelector('#input-probabilities [data-class]', { timeout: 10_000 });
    assert.equal(await page.getAttribute('#input-probabilities', 'data-source'), 'drawing');
    await page.mouse.up();
    await page.waitForTimeout(400);
    const probs = await readProbabilities(page);
    assert.equal(probs.length, 10);
    assert.deepEqual(probs.map((r) => r.index).sort((a, b) => a - b), [...Array(10).keys()]);
    const sum = probs.reduce((s, r) => s + r.p, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
    assert.ok(probs.every((r, i) => i === 0 || probs[i - 1]!.p >= r.p), 'most likely first');

    // The input is the library's drawing preprocessing of the pad's pixels (crop to ink, 20 px, centred).
    const pad = await page.evaluate(() => {
      const c = document.getElementById('input-pad') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    });
    const expected = preprocessDrawing({ width: pad.width, height: pad.height, data: Uint8ClampedArray.from(pad.data) }, { channels: 1, size: [28, 28], inkSize: 20 });
    const input = (await pageInput(page))!;
    assert.equal(input.source, 'drawing');
    assert.deepEqual(input.shape, [1, 28, 28]);
    assert.ok(expected.some((v) => v > 0.5), 'the drawing has ink');
    for (let i = 0; i < 784; i++) assert.ok(Math.abs(input.pixels[i]! - expected[i]!) < 1e-6, `pixel ${i}: ${input.pixels[i]} vs ${expected[i]}`);

    // Clear by keyboard: focus the button and press Enter; the drawing becomes empty.
    await page.focus('#input-clear');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
      const app = (window as unknown as { convkitExplorer: { input: { pixels: Float32Array } | null } }).convkitExplorer;
      return app.input !== null && app.input.pixels.every((v) => v === 0);
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('an uploaded PNG: preview and input equal the CLI\'s preprocessing; probabilities equal `convkit predict --json`', async (t) => {
    const { page, errors } = await session.open({ hash: 'input' });
    await createModel(page, 'input');
    await page.setInputFiles('#input-upload', pngPath);
    await page.waitForSelector('#input-probabilities[data-source="upload ellipse.png"] [data-class]', { timeout: 10_000 });
    const input = (await pageInput(page))!;
    const cliPixels = await preprocessImageFile(pngPath, { size: [28, 28], channels: 1 });
    assert.equal(input.pixels.length, 784);
    let worst = 0;
    for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(input.pixels[i]! - cliPixels[i]!));
    assert.ok(worst < 1e-6, `page vs CLI preprocessing: max difference ${worst}`);
    t.diagnostic(`upload: page vs CLI preprocessing, max |difference| ${worst}`);
    // The preview canvas shows exactly those values as gray bytes.
    const preview = await page.evaluate(() => {
      const c = document.getElementById('input-preview') as HTMLCanvasElement;
      return { w: c.width, h: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
    });
    assert.deepEqual([preview.h, preview.w], [28, 28]);
    for (let i = 0; i < 784; i++) assert.equal(preview.data[i * 4], Math.round(255 * cliPixels[i]!), `preview pixel ${i}`);

    // `convkit predict --json --topk 10` on a checkpoint of the same seeded model and the same file.
    const ckDir = join(work, 'untrained-lenet5');
    await saveCheckpoint(ckDir, {
      meta: {
        model: { name: MODEL, config: { numClasses: 10, inChannels: 1, inputSize: [28, 28] } },
        dataset: { name: 'fashion-mnist', classNames: [...FASHION_MNIST_CLASSES], inputShape: [1, 28, 28], normalization: null },
        optimizer: null, scheduler: null, epoch: 0, globalStep: 0, rng: null, training: { seed: SEED }, metrics: { history: [], best: null },
      },
      modelState: seededModel().stateDict(),
      optimizerState: null,
    });
    const predict = async (...extra: string[]) => {
      const { main } = await import('../../src/cli/main.js');
      let stdout = '';
      const out = { write: (s: string) => { stdout += s; return true; } } as unknown as NodeJS.WritableStream;
      const code = await main(['predict', '--checkpoint', ckDir, pngPath, '--json', '--topk', '10', ...extra], { out, err: out, cwd: work, env: { ...process.env, CONVKIT_OFFLINE: '1' } });
      assert.equal(code, 0, stdout);
      return (JSON.parse(stdout) as { predictions: { index: number; probability: number }[] }).predictions;
    };
    const compare = async (extra: string[], what: string) => {
      const cli = await predict(...extra);
      const shown = await readProbabilities(page);
      assert.equal(shown.length, 10);
      let largest = 0;
      for (const r of cli) {
        const p = shown.find((s) => s.index === r.index)!.p;
        largest = Math.max(largest, Math.abs(p - r.probability));
        assert.ok(Math.abs(p - r.probability) < 1e-5, `${what}: class ${r.index}: page ${p}, convkit predict ${r.probability}`);
      }
      t.diagnostic(`${what}: page vs convkit predict --json, max |difference| over 10 classes ${largest.toExponential(2)}`);
    };
    await compare([], 'upload');

    // The invert box is predict's --invert.
    await page.check('#input-invert');
    await page.waitForSelector('#input-probabilities[data-source="upload ellipse.png (inverted)"] [data-class]', { timeout: 10_000 });
    const inverted = (await pageInput(page))!;
    const cliInverted = await preprocessImageFile(pngPath, { size: [28, 28], channels: 1, invert: true });
    for (let i = 0; i < 784; i++) assert.ok(Math.abs(inverted.pixels[i]! - cliInverted[i]!) < 1e-6, `inverted pixel ${i}`);
    await compare(['--invert'], 'inverted upload');

    // A file that is no image: a message next to the control.
    const bad = join(work, 'notes.png');
    writeFileSync(bad, 'not an image');
    await page.setInputFiles('#input-upload', bad);
    await page.waitForSelector('#input-upload-error');
    assert.match(await page.textContent('#input-upload-error') ?? '', /notes\.png is not an image/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('an input set by another tab (a clicked test image) is shown and classified; probabilities equal the model\'s in Node', async (t) => {
    const test = loadEmbeddedFashionMnist('test');
    const index = 3;
    const pixels = test.getImage(index);
    const label = test.labels[index]!;
    const { page, errors } = await session.open({ hash: 'input' });
    await createModel(page, 'input');
    await page.evaluate(({ values, label: l }) => {
      const app = (window as unknown as { convkitExplorer: { setInput(s: unknown): void } }).convkitExplorer;
      app.setInput({ pixels: Float32Array.from(values), shape: [1, 28, 28], source: 'test image 3', label: l });
    }, { values: Array.from(pixels), label });
    await page.waitForSelector('#input-probabilities[data-source="test image 3"] [data-class]', { timeout: 10_000 });
    assert.match(await page.textContent('#input-source') ?? '', new RegExp(`test image 3 \\(true class: ${FASHION_MNIST_CLASSES[label]!.replace('/', '\\/')}\\)`));
    const model = seededModel();
    model.eval();
    const expected = noGrad(() => softmax(model.forward(new Tensor(Float32Array.from(pixels), [1, 1, 28, 28])), -1)).data;
    const shown = await readProbabilities(page);
    let largest = 0;
    for (const r of shown) largest = Math.max(largest, Math.abs(r.p - expected[r.index]!));
    t.diagnostic(`test image: page vs Node forward, max |difference| ${largest.toExponential(2)}`);
    assert.ok(largest < 1e-5, `page vs Node: ${largest}`);
    const preview = await page.evaluate(() => {
      const c = document.getElementById('input-preview') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 === 0);
    });
    assert.deepEqual(preview, Array.from(pixels, (v) => Math.round(255 * v)));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a JPEG with an EXIF rotation: the page decodes, rotates and preprocesses it as the CLI does', async (t) => {
    // 60x40 stored, orientation 6 (shown rotated 90 degrees clockwise, 40x60), 4:2:0 chroma as cameras write it.
    const w = 60, h = 40;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const o = (y * w + x) * 3; raw[o] = x < 15 ? 250 : 30; raw[o + 1] = y < 10 ? 240 : 60; raw[o + 2] = (x * 4) % 255; }
    const jpg = join(work, 'rotated.jpg');
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(jpg);
    const { page, errors } = await session.open({ hash: 'input' });
    await createModel(page, 'input');
    await page.setInputFiles('#input-upload', jpg);
    await page.waitForSelector('#input-probabilities[data-source="upload rotated.jpg"] [data-class]', { timeout: 10_000 });
    const input = (await pageInput(page))!;
    const cli = await preprocessImageFile(jpg, { size: [28, 28], channels: 1 });
    let worst = 0;
    for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(input.pixels[i]! - cli[i]!));
    t.diagnostic(`rotated JPEG: page vs CLI preprocessing, max |difference| ${worst}`);
    // JPEG decoders may round differently; both here are libjpeg-turbo and agree. A rotation ignored on either
    // side would differ by ~0.4 at the top-left (the stored image's bottom-left is darker than its top-left).
    assert.ok(worst < 2 / 255, `page vs CLI on a rotated JPEG: max difference ${worst}`);
    assert.ok(Math.abs(cli[0]! - (0.299 * 250 + 0.587 * 60) / 255) < 0.03, `the top-left shows the stored bottom-left: ${cli[0]}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('Inside the model: every leaf layer with summary\'s shapes; hovered units report traceLayers\' values and summary\'s fields', async (t) => {
    const { page, errors } = await session.open({ hash: 'inside' });
    await createModel(page, 'inside');
    await page.click('#tab-input');
    await page.setInputFiles('#input-upload', pngPath);
    await page.waitForSelector('#input-probabilities[data-source="upload ellipse.png"]', { timeout: 10_000 });
    await page.click('#tab-inside');
    const leaves = modelSummary.rows.filter((r) => r.leaf);
    await page.waitForFunction((n) => document.querySelectorAll('#inside-layers [data-layer]').length === n, leaves.length, { timeout: 15_000 });
    const blocks = await page.$$eval('#inside-layers [data-layer]', (els) => els.map((e) => ({
      path: e.getAttribute('data-layer'), channels: Number(e.getAttribute('data-channels')), shape: e.getAttribute('data-shape'), canvases: e.querySelectorAll('canvas').length,
    })));
    assert.deepEqual(blocks.map((b) => b.path), leaves.map((r) => r.path));
    for (const [i, row] of leaves.entries()) {
      const shape = row.outputShape.slice(1);
      assert.equal(blocks[i]!.shape, shape.join('x'), `${row.path} shape`);
      assert.equal(blocks[i]!.channels, shape[0], `${row.path} channels`);
      assert.equal(blocks[i]!.canvases, shape.length === 3 ? shape[0] : 1, `${row.path}: a canvas per channel`);
    }
    // The architecture table and the filters.
    const table = await page.$$eval('#inside-summary tbody tr', (rows) => rows.map((r) => ({
      path: r.getAttribute('data-layer'), shape: r.getAttribute('data-shape'), params: Number(r.getAttribute('data-params')), macs: Number(r.getAttribute('data-macs')), rf: r.getAttribute('data-rf-size'),
    })));
    assert.deepEqual(table, leaves.map((r) => ({ path: r.path, shape: r.outputShape.slice(1).join('x'), params: r.params, macs: r.macs, rf: r.receptiveField!.size.join('x') })));
    assert.deepEqual(await page.$$eval('#inside-filters [data-filters]', (els) => els.map((e) => e.getAttribute('data-filters'))), ['6x1x5x5', '16x6x5x5']);

    // Node: the same input through the same seeded model, layer by layer.
    const pixels = await preprocessImageFile(pngPath, { size: [28, 28], channels: 1 });
    const traced = traceLayers(net, pixels, [1, 1, 28, 28]);
    const byPath = new Map<string, LayerOutput>(traced.map((l) => [l.path, l]));
    const hover = async (path: string, channel: number, row: number, col: number) => {
      const layer = byPath.get(path)!;
      const spatial = layer.shape.length === 4;
      const canvas = page.locator(`#inside-layers [data-layer="${path}"] canvas`).nth(spatial ? channel : 0);
      await canvas.scrollIntoViewIfNeeded();
      const b = (await canvas.boundingBox())!;
      const [h, w] = spatial ? [layer.shape[2]!, layer.shape[3]!] : [1, layer.shape[1]!];
      const [r, c] = spatial ? [row, col] : [0, channel];
      await page.mouse.move(b.x + ((c + 0.5) * b.width) / w, b.y + ((r + 0.5) * b.height) / h);
      await page.waitForFunction(([p, ch]) => {
        const u = document.getElementById('inside-unit')!;
        return u.getAttribute('data-layer') === p && u.getAttribute('data-channel') === ch;
      }, [path, String(channel)] as const);
      const unit = await page.$eval('#inside-unit', (u) => ({
        row: Number(u.getAttribute('data-row')), col: Number(u.getAttribute('data-col')), value: Number(u.getAttribute('data-value')),
        rf: u.getAttribute('data-rf'), rfFull: u.getAttribute('data-rf-full'),
      }));
      const index = spatial ? (channel * h + row) * w + col : channel;
      const expected = layer.data[index]!;
      assert.ok(Math.abs(unit.value - expected) < 1e-5, `${path} unit (${channel}, ${row}, ${col}): page ${unit.value}, Node ${expected}`);
      t.diagnostic(`${path} unit (${channel}, ${row}, ${col}): page ${unit.value}, Node ${expected}`);
      const rf = leaves.find((l) => l.path === path)!.receptiveField!;
      const field = unitField(rf, spatial ? row : 0, spatial ? col : 0, [28, 28]);
      const text = (f: { x0: number; y0: number; x1: number; y1: number } | null) => (f ? `${f.x0},${f.y0},${f.x1},${f.y1}` : '');
      if (spatial) assert.deepEqual([unit.row, unit.col], [row, col]);
      assert.equal(unit.rf, text(field.clipped), `${path} receptive field`);
      assert.equal(unit.rfFull, text(field.full), `${path} whole receptive field`);
      return { unit, field };
    };
    const corner = await hover('features.0', 2, 0, 0);
    assert.equal(corner.unit.rfFull, '-2,-2,2,2', 'conv1 (5x5, padding 2) at the corner reaches into the padding');
    assert.equal(corner.unit.rf, '0,0,2,2');
    const mid = await hover('features.3', 5, 4, 7);
    assert.equal(mid.unit.rf, '12,6,25,19', 'conv2 unit (4, 7): 14x14 field, jump 2, start 4.5');
    await hover('features.5', 15, 4, 4);
    await hover('classifier.4', 3, 0, 0);

    // Keyboard: a focused map moves its unit with the arrow keys.
    const firstMap = page.locator('#inside-layers [data-layer="features.2"] canvas').first();
    await firstMap.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.getElementById('inside-unit')!.getAttribute('data-layer') === 'features.2');
    const moved = await page.$eval('#inside-unit', (u) => [Number(u.getAttribute('data-row')), Number(u.getAttribute('data-col'))]);
    assert.deepEqual(moved, [1, 1]);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('with a model and an input both tabs fit a 390-px phone', async () => {
    const { page, errors } = await session.open({ hash: 'input', viewport: { width: 390, height: 844 } });
    await createModel(page, 'input');
    await page.setInputFiles('#input-upload', pngPath);
    await page.waitForSelector('#input-probabilities[data-source="upload ellipse.png"] [data-class]', { timeout: 10_000 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'Your input fits');
    await page.click('#tab-inside');
    await page.waitForSelector('#inside-layers [data-layer]', { timeout: 15_000 });
    await page.waitForSelector('#inside-summary');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `Inside the model is ${width} px wide`);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
