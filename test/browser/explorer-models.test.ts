/**
 * The explorer's "Models in and out" against the CLI, in headless Chromium:
 *  (a) a checkpoint written by `convkit train` (served at /checkpoint/ as `convkit explore --checkpoint` does, and
 *      picked as files) gives in the page the probabilities `convkit predict --json` gives for the same images;
 *  (b) the page's download (.tar) of a model, loaded or trained in the page, evaluates with `convkit eval` to the
 *      accuracy the page shows for it.
 * Needs /usr/bin/chromium (see support/explorer.ts for the skip rule).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { models } from '../../src/index.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { ROOT, skipReason, startExplorer, type ExplorerSession } from './support/explorer.js';

const tsx = import.meta.resolve('tsx');
const work = mkdtempSync(join(tmpdir(), 'convkit-explorer-models-'));
const runDir = join(work, 'run');
const env = { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache'), FORCE_COLOR: '0' };
/** Test images fed to both sides (indices into the embedded subset's test set). */
const IMAGES = [0, 7, 123, 456, 999];
const TOLERANCE = 1e-5;

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, join(ROOT, 'src/cli/main.ts'), ...args], { cwd: work, env, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Evaluation { accuracy: number; loss: number; count: number }
function cliEval(checkpoint: string): Evaluation {
  const r = cli('eval', '--json', '--checkpoint', checkpoint);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Evaluation;
}

/** What the Models tab shows of the current model (its data-* attributes). */
async function shownModel(page: Page): Promise<Record<string, string>> {
  return page.$eval('#models-current', (el) => ({ ...(el as HTMLElement).dataset }) as Record<string, string>);
}

/** Click Evaluate and read the accuracy the page shows. */
async function evaluateInPage(page: Page): Promise<Evaluation> {
  await page.click('#tab-models');
  await page.click('#models-evaluate');
  const el = await page.waitForSelector('#models-evaluation', { timeout: 60_000 });
  const d = await el.evaluate((e) => ({ ...(e as HTMLElement).dataset }));
  return { accuracy: Number(d['accuracy']), loss: Number(d['loss']), count: Number(d['count']) };
}

/** Click Download and save what the browser receives. */
async function downloadFromPage(page: Page, name: string): Promise<{ path: string; suggested: string }> {
  await page.click('#tab-models');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.click('#models-download')]);
  const path = join(work, name);
  await download.saveAs(path);
  await page.waitForSelector('#models-downloaded');
  return { path, suggested: download.suggestedFilename() };
}

describe('explorer: models in and out', { skip: skipReason ?? false }, () => {
  let session: ExplorerSession;
  before(async () => {
    const trained = cli('train', '--model', 'lenet5', '--dataset', 'fashion-mnist-subset', '--epochs', '1', '--out', runDir, '--threads', '2');
    assert.equal(trained.code, 0, trained.stderr);
    // The checkpoint folder at /checkpoint/, as a plain folder mount (no index.json): the page falls back to the
    // three standard file names.
    session = await startExplorer({ mounts: [{ prefix: '/checkpoint/', dir: join(runDir, 'best') }] });
  });
  after(async () => {
    await session?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('(a) a CLI-trained checkpoint: the page shows it and predicts what convkit predict predicts (1e-5)', async () => {
    const { page, errors } = await session.open({ hash: 'models' });
    // Loaded from /checkpoint/ at start.
    await page.waitForSelector('#models-current[data-origin="server /checkpoint/"]', { timeout: 60_000 });
    const meta = JSON.parse(readFileSync(join(runDir, 'best', 'checkpoint.json'), 'utf8')) as {
      model: { name: string; config: models.ModelOptions }; epoch: number;
      dataset: { classNames: string[]; inputShape: number[]; normalization: { mean: number[]; std: number[] } };
      metrics: { history: { testAccuracy: number }[] };
    };
    const first = await shownModel(page);
    // Picked as files (the file input), replacing it: a new version, a new origin.
    await page.setInputFiles('#models-files', ['checkpoint.json', 'model.safetensors', 'optimizer.safetensors'].map((f) => join(runDir, 'best', f)));
    await page.waitForSelector('#models-current[data-origin="files checkpoint.json, model.safetensors, optimizer.safetensors"]', { timeout: 60_000 });
    const shown = await shownModel(page);
    assert.ok(Number(shown['version']) > Number(first['version']), 'loading bumps the model version');
    assert.equal(shown['name'], 'lenet5');
    assert.equal(shown['epochs'], '1');
    assert.equal(shown['classes'], meta.dataset.classNames.join('|'));
    assert.equal(shown['inputShape'], meta.dataset.inputShape.join('x'));
    assert.deepEqual(JSON.parse(shown['normalization']!), meta.dataset.normalization);
    assert.equal(Number(shown['accuracy']), meta.metrics.history.at(-1)!.testAccuracy);
    assert.equal(Number(shown['parameters']), models.create(meta.model.name, meta.model.config).numParameters());

    // The same images as PNG files for the CLI and as pixels v/255 for the page.
    const test = loadEmbeddedFashionMnist('test');
    const pixels: number[] = [];
    const files: string[] = [];
    for (const index of IMAGES) {
      const png = new PNG({ width: 28, height: 28, colorType: 0 });
      for (let i = 0; i < 784; i++) {
        const v = test.images[index * 784 + i]!;
        png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
        png.data[4 * i + 3] = 255;
        pixels.push(v / 255);
      }
      const file = `test-${index}.png`;
      writeFileSync(join(work, file), PNG.sync.write(png, { colorType: 0 }));
      files.push(file);
    }
    const predicted = cli('predict', '--json', '--topk', '10', '--checkpoint', runDir, ...files);
    assert.equal(predicted.code, 0, predicted.stderr);
    const cliRows = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { predictions: { index: number; probability: number }[] });
    const page_ = await page.evaluate(async (values) => {
      const app = (window as unknown as { convkitExplorer: { client: { call(n: string, p: unknown): Promise<{ probabilities: Float32Array }> } } }).convkitExplorer;
      const r = await app.client.call('engine.predict', { pixels: new Float32Array(values), count: values.length / 784 });
      return Array.from(r.probabilities);
    }, pixels);
    assert.equal(page_.length, IMAGES.length * 10);
    let maxDiff = 0;
    IMAGES.forEach((index, n) => {
      const cliProbs = new Array<number>(10).fill(NaN);
      for (const p of cliRows[n]!.predictions) cliProbs[p.index] = p.probability;
      const pageProbs = page_.slice(n * 10, n * 10 + 10);
      const pageTop = pageProbs.indexOf(Math.max(...pageProbs));
      assert.equal(pageTop, cliRows[n]!.predictions[0]!.index, `image ${index}: same top-1`);
      for (let c = 0; c < 10; c++) maxDiff = Math.max(maxDiff, Math.abs(pageProbs[c]! - cliProbs[c]!));
    });
    assert.ok(maxDiff <= TOLERANCE, `largest probability difference ${maxDiff} > ${TOLERANCE}`);
    console.log(`# (a) page vs convkit predict: ${IMAGES.length} images, largest probability difference ${maxDiff.toExponential(2)}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('(b) a loaded checkpoint downloaded from the page: convkit eval gives the accuracy the page shows', async () => {
    const { page, errors } = await session.open({ hash: 'models' });
    await page.waitForSelector('#models-current[data-origin="server /checkpoint/"]', { timeout: 60_000 });
    const inPage = await evaluateInPage(page);
    const { path, suggested } = await downloadFromPage(page, 'loaded.tar');
    assert.equal(suggested, 'lenet5-epoch1.tar');
    const fromDownload = cliEval(path);
    const fromFolder = cliEval(runDir);
    assert.equal(inPage.count, 1000);
    assert.equal(fromDownload.count, inPage.count);
    assert.equal(fromDownload.accuracy, inPage.accuracy, 'convkit eval on the download = the page');
    assert.equal(fromFolder.accuracy, inPage.accuracy, 'convkit eval on the original folder = the page');
    assert.ok(Math.abs(fromDownload.loss - inPage.loss) <= 1e-5 * Math.abs(inPage.loss), `loss ${fromDownload.loss} vs ${inPage.loss}`);
    // The download carries the same weights, byte for byte.
    const unpacked = join(work, 'unpacked');
    spawnSync('mkdir', ['-p', unpacked]);
    assert.equal(spawnSync('tar', ['-xf', path, '-C', unpacked]).status, 0);
    assert.deepEqual(readFileSync(join(unpacked, 'lenet5-epoch1', 'model.safetensors')), readFileSync(join(runDir, 'best', 'model.safetensors')));
    console.log(`# (b) loaded checkpoint: page ${inPage.accuracy} (loss ${inPage.loss}), convkit eval of the download ${fromDownload.accuracy} (loss ${fromDownload.loss})`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('(b) a model trained in the page for one epoch: its download evaluates with convkit eval to the page\'s accuracy', async () => {
    const { page, errors } = await session.open({ hash: 'models' });
    await page.waitForSelector('#models-current[data-origin="server /checkpoint/"]', { timeout: 60_000 });
    // Train through the engine's own requests (the Train tab's), on the embedded subset, one epoch.
    const outcome = await page.evaluate(async () => {
      const app = (window as unknown as { convkitExplorer: { client: { call(n: string, p: unknown): Promise<unknown> } } }).convkitExplorer;
      await app.client.call('train.loadData', { kind: 'subset', baseUrl: new URL('./', location.href).href });
      return app.client.call('train.start', {
        settings: { model: 'lenet5', optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0, batch: 64, epochs: 1, schedule: 'none', augment: 'none', seed: 3 },
        stopFlag: null,
      });
    }) as { status: string; epochsCompleted: number; testAccuracy: number };
    assert.equal(outcome.status, 'done');
    assert.equal(outcome.epochsCompleted, 1);
    // The Models tab describes the engine's model (whatever the Train tab's view did with it).
    const described = await page.evaluate(async () => {
      const app = (window as unknown as { convkitExplorer: { client: { call(n: string, p: unknown): Promise<{ origin: string; testAccuracy: number; epochs: number }> }; setModel(m: unknown): void; model: { version: number } | null } }).convkitExplorer;
      const d = await app.client.call('models.describe', {});
      app.setModel({ ...d, version: (app.model?.version ?? 0) + 1 });
      return d;
    });
    assert.equal(described.origin, 'trained in the page');
    assert.equal(described.epochs, 1);
    assert.equal(described.testAccuracy, outcome.testAccuracy);
    await page.waitForSelector('#models-current[data-origin="trained in the page"]');
    const inPage = await evaluateInPage(page);
    assert.equal(inPage.accuracy, outcome.testAccuracy, 'models.evaluate = the accuracy fit reported for the epoch');
    const { path } = await downloadFromPage(page, 'trained.tar');
    const fromDownload = cliEval(path);
    assert.equal(fromDownload.count, 1000);
    assert.equal(fromDownload.accuracy, inPage.accuracy);
    assert.ok(Math.abs(fromDownload.loss - inPage.loss) <= 1e-5 * Math.abs(inPage.loss), `loss ${fromDownload.loss} vs ${inPage.loss}`);
    assert.ok(inPage.accuracy > 0.3, `one epoch on 2,000 images learns something (10 classes: chance is 0.1; got ${inPage.accuracy})`);
    console.log(`# (b) trained in the page: page ${inPage.accuracy} (loss ${inPage.loss}), convkit eval of the download ${fromDownload.accuracy} (loss ${fromDownload.loss})`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a run folder through the folder input takes best/; a dropped .tar loads too', async () => {
    const { page, errors } = await session.open({ hash: 'models' });
    await page.waitForSelector('#models-current[data-origin="server /checkpoint/"]', { timeout: 60_000 });
    // The run folder holds best/ and last/ (and the report files convkit train writes): best/ is taken.
    await page.setInputFiles('#models-folder', runDir);
    await page.waitForSelector('#models-current[data-origin="folder run"]', { timeout: 60_000 });
    const best = JSON.parse(readFileSync(join(runDir, 'best', 'checkpoint.json'), 'utf8')) as { metrics: { history: { testAccuracy: number }[] } };
    assert.equal(Number((await shownModel(page))['accuracy']), best.metrics.history.at(-1)!.testAccuracy);
    // A .tar written by the page (the previous test's download format), dropped on the drop zone.
    const tarPath = join(work, 'dropped.tar');
    const { checkpointToTar } = await import('../../src/io/checkpointArchive.js');
    const { loadCheckpoint } = await import('../../src/node/checkpoint.js');
    writeFileSync(tarPath, await checkpointToTar(await loadCheckpoint(join(runDir, 'last')), 'lenet5-epoch1'));
    const bytes = [...readFileSync(tarPath)];
    await page.evaluate((values) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(values)], 'dropped.tar'));
      document.querySelector('#models-drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForSelector('#models-current[data-origin="dropped dropped.tar"]', { timeout: 60_000 });
    assert.equal((await shownModel(page))['name'], 'lenet5');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a broken checkpoint: the page names the file and what is wrong, next to the control', async () => {
    const { page } = await session.open({ hash: 'models' });
    await page.waitForSelector('#models-current[data-origin="server /checkpoint/"]', { timeout: 60_000 });
    const bad = join(work, 'bad');
    spawnSync('mkdir', ['-p', bad]);
    writeFileSync(join(bad, 'checkpoint.json'), readFileSync(join(runDir, 'best', 'checkpoint.json')));
    const weights = readFileSync(join(runDir, 'best', 'model.safetensors'));
    weights[weights.length - 1] ^= 0x01;
    writeFileSync(join(bad, 'model.safetensors'), weights);
    await page.setInputFiles('#models-files', [join(bad, 'checkpoint.json'), join(bad, 'model.safetensors')]);
    const alert = await page.waitForSelector('#models-error[role=alert]');
    assert.match(await alert.textContent() ?? '', /model\.safetensors does not match the SHA-256 in checkpoint\.json/);
    // The model in the engine is still the one loaded before.
    assert.equal((await shownModel(page))['origin'], 'server /checkpoint/');
    await page.setInputFiles('#models-files', [join(bad, 'model.safetensors')]);
    await page.waitForFunction(() => /no checkpoint\.json among model\.safetensors/.test(document.querySelector('#models-error')?.textContent ?? ''));
    await page.close();
  });
});
