/**
 * The explorer's "Why CNNs work" tab in headless Chromium: each claim's panel computes its numbers with the
 * library in an engine worker and shows them in the DOM; checked against the library in Node where the number
 * is deterministic (the ledger, the lab's recorded depth curves), and against the claim's physics otherwise
 * (a conv layer commutes with a shift to float error, a 2x2 max pool does not for a 1-pixel shift, ...).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { layerLedger } from '../../src/inspect/ledger.js';
import { ROOT, skipReason, startExplorer, type ExplorerSession } from './support/explorer.js';

const num = async (page: Page, selector: string, attribute: string): Promise<number> => {
  const v = await page.getAttribute(selector, attribute);
  assert.ok(v !== null, `${selector} has no ${attribute}`);
  return Number(v);
};

async function openPanel(page: Page, id: string): Promise<void> {
  console.log(`${id} opened at ${(await page.evaluate(() => performance.now() / 1000)).toFixed(1)} s`);
  await page.click(`#${id} > summary`);
  assert.equal(await page.getAttribute(`#${id}`, 'open'), '');
}

async function setField(page: Page, name: string, value: string): Promise<void> {
  await page.fill(`input[name=${name}]`, value);
}

describe('the explorer: why CNNs work', { skip: skipReason ?? false }, () => {
  let session: ExplorerSession;
  let page: Page;
  let errors: string[];
  before(async () => {
    session = await startExplorer({ mounts: [{ prefix: '/lab/', dir: join(ROOT, 'lab') }] });
    ({ page, errors } = await session.open({ hash: 'claims' }));
    // Main-thread tasks longer than 50 ms, as the browser reports them.
    await page.evaluate(() => {
      const w = window as unknown as { longTasks: { start: number; duration: number }[]; claimsOpened: number };
      w.longTasks = [];
      // Only tasks from now on: the page's own start-up (parsing the bundle) is not the claims tab's doing.
      w.claimsOpened = performance.now();
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (e.startTime >= w.claimsOpened) w.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
      (window as unknown as { loafs: string[] }).loafs = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as unknown as { startTime: number; duration: number; blockingDuration: number; scripts: { invoker: string; sourceFunctionName: string; duration: number; forcedStyleAndLayoutDuration: number }[] }[]) {
          if (e.duration > 50 && e.startTime >= w.claimsOpened) (window as unknown as { loafs: string[] }).loafs.push(`${(e.startTime / 1000).toFixed(1)}s ${e.duration.toFixed(0)}ms block ${e.blockingDuration.toFixed(0)}: ` + e.scripts.map((s) => `${s.invoker}/${s.sourceFunctionName} ${s.duration.toFixed(0)} (layout ${s.forcedStyleAndLayoutDuration.toFixed(0)})`).join('; '));
        }
      }).observe({ type: 'long-animation-frame', buffered: true });
    });
  });
  after(async () => { await session?.close(); });

  test('ledger: 200x200x3 -> 1,000 units costs 120,001,000 dense parameters; local and conv as the library counts them', async () => {
    await openPanel(page, 'claim-ledger');
    await page.waitForSelector('#claim-ledger [data-kind=conv][data-parameters]');
    const expected = layerLedger({ input: [3, 200, 200], units: 1000 });
    assert.equal(await num(page, '#claim-ledger [data-kind=dense]', 'data-parameters'), 120_001_000);
    assert.match(await page.textContent('#claim-ledger [data-kind=dense] .params') ?? '', /^120,001,000$/);
    assert.equal(await num(page, '#claim-ledger [data-kind=local]', 'data-parameters'), expected.local.params);
    assert.equal(await num(page, '#claim-ledger [data-kind=conv]', 'data-parameters'), expected.conv.params);
    // A kernel of 5 with stride 1 and 8 filters: the library's numbers again.
    await setField(page, 'ledger-kernel', '5');
    await setField(page, 'ledger-filters', '8');
    const custom = layerLedger({ input: [3, 200, 200], units: 1000, kernel: 5, stride: 1, channels: 8 });
    await page.waitForFunction((p) => document.querySelector('#claim-ledger [data-kind=conv]')?.getAttribute('data-parameters') === String(p), custom.conv.params);
    assert.equal(await num(page, '#claim-ledger [data-kind=local]', 'data-parameters'), custom.local.params);
    // A bad input is said next to the controls, not clamped.
    await setField(page, 'ledger-height', '0');
    await page.waitForSelector('#claim-ledger [role=alert]');
    assert.match(await page.textContent('#claim-ledger [role=alert]') ?? '', /height must be an integer >= 1, got 0/);
    assert.equal(await page.locator('#claim-ledger [data-kind]').count(), 0);
    await setField(page, 'ledger-height', '200');
    await page.waitForSelector('#claim-ledger [data-kind=dense]');
  });

  test('equivariance: conv layers commute with a 2-px shift on the interior, the MLP does not, max pooling breaks at 1 px', async () => {
    await openPanel(page, 'claim-equivariance');
    await page.waitForSelector('#claim-equivariance .equivariance-result[data-dx="2"] [data-model=mlp] [data-layer]');
    const error = (model: string, layer: string): Promise<number> => num(page, `#claim-equivariance tr[data-model=${model}][data-layer="${layer}"]`, 'data-interior-error');
    assert.equal(await page.getAttribute('#claim-equivariance tr[data-model=lenet5][data-layer="features.0"]', 'data-type'), 'Conv2d');
    const conv2 = await error('lenet5', 'features.0');
    assert.ok(conv2 <= 1e-5, `lenet5 conv1, 2-px shift: ${conv2}`);
    const mlp2 = await error('mlp', 'classifier.0');
    assert.ok(mlp2 > 0.1, `mlp first layer, 2-px shift: ${mlp2}`);
    // Pooling with stride 2 stays exact for a 2-px shift and breaks for a 1-px shift.
    assert.equal(await page.getAttribute('#claim-equivariance tr[data-model=lenet5][data-layer="features.2"]', 'data-type'), 'MaxPool2d');
    const pool2 = await error('lenet5', 'features.2');
    assert.ok(pool2 <= 1e-5, `2x2 max pool, 2-px shift: ${pool2}`);
    await setField(page, 'equivariance-dx', '1');
    await page.waitForSelector('#claim-equivariance .equivariance-result[data-dx="1"]');
    const pool1 = await error('lenet5', 'features.2');
    assert.ok(pool1 > 1e-3, `2x2 max pool, 1-px shift: ${pool1}`);
    assert.ok(await error('lenet5', 'features.0') <= 1e-5);
    assert.equal(await page.getAttribute('#claim-equivariance tr[data-model=lenet5][data-layer="features.2"]', 'data-aligned'), 'false');
    // The error maps are drawn: three canvases per spatial layer.
    assert.equal(await page.locator('#claim-equivariance tr[data-model=lenet5][data-layer="features.0"] canvas').count(), 3);
    console.log(`equivariance: conv ${conv2.toExponential(2)} (2 px), mlp ${mlp2.toFixed(3)} (2 px), maxpool ${pool2.toExponential(2)} (2 px) / ${pool1.toFixed(3)} (1 px)`);
    await setField(page, 'equivariance-dx', '99');
    await page.waitForSelector('#claim-equivariance [role=alert]');
    assert.match(await page.textContent('#claim-equivariance [role=alert]') ?? '', /dx must be a whole number from -8 to 8/);
    await setField(page, 'equivariance-dx', '2');
    await page.waitForSelector('#claim-equivariance .equivariance-result[data-dx="2"]');
  });

  test('pooling: a 9-point prediction curve over -4..4 px for each of the four variants', async () => {
    await openPanel(page, 'claim-pooling');
    await setField(page, 'pooling-steps', '0');
    await page.click('#claim-pooling button.run');
    await page.waitForSelector('#claim-pooling [role=alert]');
    assert.match(await page.textContent('#claim-pooling [role=alert]') ?? '', /training steps must be a whole number from 1/);
    await setField(page, 'pooling-steps', '12');
    await page.click('#claim-pooling button.run');
    await page.waitForSelector('#claim-pooling .pooling-result', { timeout: 30_000 });
    for (const variant of ['maxpool', 'avgpool', 'strided', 'gap']) {
      const row = `#claim-pooling tr[data-variant=${variant}]`;
      assert.equal(await num(page, row, 'data-points'), 9);
      const cells = await page.$$eval(`${row} td[data-shift]`, (tds) => tds.map((td) => ({ shift: Number(td.getAttribute('data-shift')), p: Number(td.getAttribute('data-confidence')) })));
      assert.deepEqual(cells.map((c) => c.shift), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
      for (const c of cells) assert.ok(c.p >= 0 && c.p <= 1 && c.p >= 0.1 - 1e-6, `${variant} at ${c.shift}: ${c.p}`);
    }
    assert.match(await page.textContent('#claim-pooling') ?? '', /trained here/);
  });

  test('pixel shuffle: accuracy curves for the four runs; a long run stops on Stop', async () => {
    await openPanel(page, 'claim-shuffle');
    await setField(page, 'shuffle-batch', '64');
    await setField(page, 'shuffle-test', '200');
    await page.click('#claim-shuffle button.run');
    await page.waitForSelector('#claim-shuffle .shuffle-result[data-complete=true]', { timeout: 40_000 });
    // 2,000 images / 64 = 31 steps; tested at steps 0, 10, 20, 30 and 31.
    for (const run of ['mlp original', 'mlp shuffled', 'lenet5 original', 'lenet5 shuffled']) {
      const row = `#claim-shuffle tr[data-run="${run}"]`;
      assert.equal(await num(page, row, 'data-points'), 5, run);
      const accuracy = await num(page, row, 'data-accuracy');
      assert.ok(accuracy > 0 && accuracy <= 1, `${run}: ${accuracy}`);
    }
    assert.equal(await page.locator('#claim-shuffle .u-legend .u-series').count(), 5, 'legend: x and four runs');
    assert.equal(await page.locator('#claim-shuffle canvas.claim-plane').count(), 2, 'an image before and after the permutation');
    const text = await page.$$eval('#claim-shuffle tr[data-run]', (rows) => rows.map((r) => `${r.getAttribute('data-run')} ${r.getAttribute('data-accuracy')}`));
    console.log(`shuffle, 1 epoch: ${text.join(', ')}`);
    // Stop: a 20-epoch run ends within seconds of the button.
    await setField(page, 'shuffle-epochs', '20');
    await page.click('#claim-shuffle button.run');
    await page.waitForFunction(() => Number(document.querySelector('#claim-shuffle tr[data-run="mlp original"]')?.getAttribute('data-points')) >= 2, undefined, { timeout: 20_000 });
    const t0 = Date.now();
    await page.click('#claim-shuffle button:text("Stop")');
    await page.waitForSelector('#claim-shuffle .shuffle-result[data-stopped=true]', { timeout: 10_000 });
    console.log(`shuffle stopped ${Date.now() - t0} ms after Stop`);
  });

  test('hierarchy: top patches at each depth of a briefly trained LeNet-5, receptive fields growing', async () => {
    await openPanel(page, 'claim-hierarchy');
    await setField(page, 'hierarchy-steps', '30');
    await setField(page, 'hierarchy-search', '200');
    await setField(page, 'hierarchy-channels', '2');
    await setField(page, 'hierarchy-patches', '3');
    await page.click('#claim-hierarchy button.run');
    await page.waitForSelector('#claim-hierarchy .hierarchy-result', { timeout: 30_000 });
    const depths = await page.$$eval('#claim-hierarchy [data-depth]', (ds) => ds.map((d) => ({
      layer: d.getAttribute('data-layer'), rf: Number(d.getAttribute('data-receptive-field')), patches: Number(d.getAttribute('data-patches')),
      canvases: d.querySelectorAll('canvas').length,
    })));
    assert.deepEqual(depths.map((d) => d.layer), ['features.1', 'features.4'], 'the ReLUs of lenet5 with spatial outputs');
    for (const d of depths) {
      assert.equal(d.patches, 6);
      assert.equal(d.canvases, 6);
    }
    assert.ok(depths[1]!.rf > depths[0]!.rf, `receptive fields ${depths.map((d) => d.rf).join(' -> ')}`);
  });

  test('depth: the lab\'s recorded plain vs residual loss curves, every recorded point', async () => {
    // Opened with the keyboard: a panel's summary takes focus and Enter toggles it.
    await page.focus('#claim-depth > summary');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#claim-depth', 'open'), '');
    await page.waitForSelector('#claim-depth [data-file="lab/depth-adam.json"] [data-series=resnet56]');
    for (const file of ['depth.json', 'depth-adam.json']) {
      const record = JSON.parse(readFileSync(join(ROOT, 'lab', file), 'utf8')) as { results: { runs: { model: string; seed: number; curve: { loss: number }[] }[] } };
      for (const model of ['plain20', 'plain56', 'resnet20', 'resnet56']) {
        const runs = record.results.runs.filter((r) => r.model === model);
        const li = `#claim-depth [data-file="lab/${file}"] [data-series=${model}]`;
        assert.equal(await num(page, li, 'data-points'), runs[0]!.curve.length, `${file} ${model}`);
        const lastMean = runs.reduce((a, r) => a + r.curve.at(-1)!.loss, 0) / runs.length;
        assert.ok(Math.abs(await num(page, li, 'data-last-loss') - lastMean) < 1e-9, `${file} ${model} last loss`);
      }
    }
    assert.equal(await page.locator('#claim-depth canvas').count() >= 2, true, 'two charts drawn');
    // The short live run: 4 steps of 8 images, the loss averaged over 2 steps: 2 points per net.
    await setField(page, 'depth-steps', '4');
    await setField(page, 'depth-batch', '8');
    await setField(page, 'depth-every', '2');
    await page.click('#claim-depth button.run');
    await page.waitForSelector('#claim-depth .depth-live[data-complete=true]', { timeout: 40_000 });
    for (const model of ['plain20', 'plain56', 'resnet20', 'resnet56']) {
      const li = `#claim-depth [data-live-series=${model}]`;
      assert.equal(await num(page, li, 'data-points'), 2, model);
      const loss = await num(page, li, 'data-last-loss');
      assert.ok(Number.isFinite(loss) && loss > 0, `${model} live loss ${loss}`);
    }
  });

  test('with a model in the main engine, equivariance and hierarchy look at that model', async () => {
    // An untrained vggsmall made the Inside tab's way, as if the user had trained or loaded it.
    await page.evaluate(async () => {
      const app = (window as unknown as { convkitExplorer: { client: { call(n: string, p: unknown): Promise<unknown> }; setModel(m: unknown): void } }).convkitExplorer;
      app.setModel(await app.client.call('inspect.createModel', { name: 'vggsmall', seed: 0 }));
    });
    await page.waitForSelector('#claim-equivariance [data-model=vggsmall][data-source=yours] tr[data-layer]');
    assert.equal(await page.locator('#claim-equivariance [data-model=lenet5]').count(), 0);
    const error = (layer: string): Promise<number> => num(page, `#claim-equivariance tr[data-model=vggsmall][data-layer="${layer}"]`, 'data-interior-error');
    assert.ok(await error('features.0') <= 1e-5, 'vggsmall conv1, 2-px shift');
    assert.ok(await error('features.2') <= 1e-5, 'vggsmall conv2, 2-px shift');
    await page.click('#claim-hierarchy button.run');
    await page.waitForSelector('#claim-hierarchy .hierarchy-result[data-model=vggsmall]', { timeout: 30_000 });
    const layers = await page.$$eval('#claim-hierarchy [data-depth]', (ds) => ds.map((d) => `${d.getAttribute('data-layer')}:${d.getAttribute('data-patches')}`));
    assert.deepEqual(layers, ['features.1:6', 'features.3:6', 'features.6:6', 'features.8:6']);
  });

  test('the tab fits a 390-px phone with every panel open, and no main-thread task froze the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `page width ${width} px on a 390-px phone`);
    // Every control is labelled (a wrapping <label>, aria-label or its own text).
    const unlabelled = await page.$$eval('#claims input, #claims select, #claims button', (els) => els
      .filter((el) => !el.closest('label') && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim())
      .map((el) => el.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabelled, []);
    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks);
    const text = longTasks.map((t) => `${t.duration.toFixed(0)} ms at ${(t.start / 1000).toFixed(1)} s`).join(', ') || 'none';
    console.log(`main-thread tasks over 50 ms: ${text}`);
    const frames = await page.evaluate(() => (window as unknown as { loafs: string[] }).loafs);
    if (frames.length) console.log(`long animation frames (what ran):\n${frames.join('\n')}`);
    // The panels compute in workers; what is left on the page is rendering. On an idle machine no task went over
    // 50 ms; with other jobs on the 2 cores (load average 8) a render of the same tables measured 141-150 ms, so
    // the bound allows for a loaded machine while still failing on any computation moved onto the page (the
    // shortest training run here takes seconds).
    assert.ok(longTasks.every((t) => t.duration <= 250), `long tasks: ${text}`);
    assert.deepEqual(errors, []);
  });
});
